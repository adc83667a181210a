// opexd's access log over spdlog (access_log.hpp).
#include "access_log.hpp"

#include "opex/clock.hpp"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <spdlog/async.h>
#include <spdlog/async_logger.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>

#include <chrono>

namespace opex::tools {

namespace {

std::shared_ptr<spdlog::details::thread_pool> log_threads() {
  static auto pool = std::make_shared<spdlog::details::thread_pool>(8192, 1);
  return pool;
}

} // namespace

access_log::access_log(const std::string& target) {
  if (target == "off" || target.empty())
    return;
  spdlog::sink_ptr sink;
  if (target == "stderr")
    sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  else if (target == "stdout")
    sink = std::make_shared<spdlog::sinks::stdout_sink_mt>();
  else
    sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(target);
  logger_ = std::make_shared<spdlog::async_logger>("opexd.access", sink, log_threads(),
                                                   spdlog::async_overflow_policy::overrun_oldest);
  logger_->set_pattern("%v");
}

access_log::~access_log() {
  flush();
}

void access_log::write(const access_record& r) {
  if (!logger_)
    return;
  boost::json::object line{{"time", format_timestamp(std::chrono::system_clock::now())},
                           {"level", "info"},
                           {"msg", "http"},
                           {"method", r.method},
                           {"path", r.path},
                           {"route", r.route.empty() ? "none" : r.route},
                           {"status", r.status},
                           {"duration_ms", r.duration_ms},
                           {"request_id", r.request_id},
                           {"tenant", r.tenant},
                           {"trace_id", r.trace_id},
                           {"bytes", static_cast<std::uint64_t>(r.bytes)}};
  logger_->info(boost::json::serialize(line));
}

void access_log::flush() {
  if (logger_)
    logger_->flush();
}

} // namespace opex::tools
