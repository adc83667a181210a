// The engine log over spdlog (opex/log.hpp): a JSON line per event, formatted here, written by
// a logger whose sink is chosen by configure_log.
#include "opex/log.hpp"

#include "opex/clock.hpp"

#include <boost/json/serialize.hpp>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <array>
#include <atomic>
#include <memory>
#include <mutex>
#include <stdexcept>

namespace opex {

namespace json = boost::json;

namespace {

constexpr std::array<std::string_view, 5> level_names{"debug", "info", "warn", "error", "off"};

struct log_state {
  std::mutex m;
  std::shared_ptr<spdlog::logger> logger;
  std::shared_ptr<const std::function<std::string(std::string_view)>> masker;
  std::atomic<int> level{static_cast<int>(log_level::info)};
};

log_state& state() {
  static log_state s;
  return s;
}

std::shared_ptr<spdlog::logger> make_logger(const std::string& target) {
  std::shared_ptr<spdlog::logger> l;
  if (target == "stdout")
    l = std::make_shared<spdlog::logger>("opex", std::make_shared<spdlog::sinks::stdout_sink_mt>());
  else if (target == "off")
    l = std::make_shared<spdlog::logger>("opex", std::make_shared<spdlog::sinks::null_sink_mt>());
  else if (target.empty() || target == "stderr")
    l = std::make_shared<spdlog::logger>("opex", std::make_shared<spdlog::sinks::stderr_sink_mt>());
  else
    try {
      l = std::make_shared<spdlog::logger>("opex", std::make_shared<spdlog::sinks::basic_file_sink_mt>(target));
    } catch (const spdlog::spdlog_ex& e) {
      throw std::runtime_error("logging.target: cannot open " + target + ": " + e.what());
    }
  l->set_pattern("%v");  // the line is formatted JSON already
  l->set_level(spdlog::level::trace);
  l->flush_on(spdlog::level::trace);
  return l;
}

} // namespace

std::string_view log_level_name(log_level l) noexcept {
  return level_names[static_cast<std::size_t>(l)];
}

std::optional<log_level> parse_log_level(std::string_view name) noexcept {
  for (std::size_t i = 0; i < level_names.size(); ++i)
    if (level_names[i] == name)
      return static_cast<log_level>(i);
  return std::nullopt;
}

void configure_log(const log_settings& s) {
  auto logger = make_logger(s.level == log_level::off ? "off" : s.target);
  auto& st = state();
  std::lock_guard lock(st.m);
  st.logger = std::move(logger);
  st.level = static_cast<int>(s.level);
}

void set_log_masker(std::function<std::string(std::string_view)> masker) {
  auto& st = state();
  std::lock_guard lock(st.m);
  st.masker = masker ? std::make_shared<const std::function<std::string(std::string_view)>>(std::move(masker)) : nullptr;
}

void log_event(log_level level, std::string_view event, std::string_view message, const json::object& fields) {
  auto& st = state();
  if (level == log_level::off || static_cast<int>(level) < st.level.load(std::memory_order_relaxed))
    return;
  try {
    std::shared_ptr<spdlog::logger> logger;
    std::shared_ptr<const std::function<std::string(std::string_view)>> masker;
    {
      std::lock_guard lock(st.m);
      if (!st.logger)
        st.logger = make_logger("stderr");
      logger = st.logger;
      masker = st.masker;
    }
    auto mask = [&](std::string_view s) { return masker ? (*masker)(s) : std::string(s); };
    json::object line{{"time", format_timestamp(std::chrono::system_clock::now())},
                      {"level", log_level_name(level)},
                      {"logger", "opex"},
                      {"event", event},
                      {"msg", mask(message)}};
    for (const auto& kv : fields)
      line[kv.key()] = kv.value().is_string() ? json::value(mask(kv.value().get_string())) : kv.value();
    logger->log(level == log_level::error ? spdlog::level::err
                : level == log_level::warn ? spdlog::level::warn
                : level == log_level::info ? spdlog::level::info
                                           : spdlog::level::debug,
                json::serialize(line));
  } catch (...) {
    // a log line is never worth an exception on the caller's path
  }
}

} // namespace opex
