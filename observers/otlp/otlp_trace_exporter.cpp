// The OTLP span exporter's queue, batches and JSON encoding (opex/observers/otlp_trace_exporter.hpp).
// The spans themselves are built from the engine's events in otlp_spans.cpp.
#include "opex/observers/otlp_trace_exporter.hpp"

#include "opex/log.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <future>

namespace opex::observers {

namespace json = boost::json;

namespace {

json::object any_value(const attribute_value& v) {
  struct visitor {
    json::object operator()(const std::string& s) const { return {{"stringValue", s}}; }
    // OTLP JSON: int64 as a decimal string.
    json::object operator()(std::int64_t i) const { return {{"intValue", std::to_string(i)}}; }
    json::object operator()(double d) const { return {{"doubleValue", d}}; }
    json::object operator()(bool b) const { return {{"boolValue", b}}; }
  };
  return std::visit(visitor{}, v);
}

json::array attributes_json(const std::vector<std::pair<std::string, attribute_value>>& attributes) {
  json::array out;
  out.reserve(attributes.size());
  for (const auto& [key, value] : attributes)
    out.emplace_back(json::object{{"key", key}, {"value", any_value(value)}});
  return out;
}

json::object span_json(const span_record& s) {
  json::object o{{"traceId", s.trace_id},
                 {"spanId", s.span_id},
                 {"name", s.name},
                 {"kind", static_cast<int>(s.kind)},
                 {"startTimeUnixNano", std::to_string(s.start_unix_ns)},
                 {"endTimeUnixNano", std::to_string(s.end_unix_ns)},
                 {"attributes", attributes_json(s.attributes)}};
  if (!s.parent_span_id.empty())
    o["parentSpanId"] = s.parent_span_id;
  // STATUS_CODE_OK = 1 is for an operator's override; a span that did not fail stays UNSET.
  o["status"] = s.error ? json::object{{"code", 2}, {"message", s.status_message}} : json::object{};
  return o;
}

} // namespace

std::string otlp_trace_exporter::encode(const std::vector<span_record>& spans, const std::string& service_name,
                                        const std::string& service_version) {
  json::array list;
  list.reserve(spans.size());
  for (const auto& s : spans)
    list.emplace_back(span_json(s));
  std::vector<std::pair<std::string, attribute_value>> resource{{"service.name", service_name},
                                                               {"telemetry.sdk.name", std::string("opex")},
                                                               {"telemetry.sdk.language", std::string("cpp")}};
  if (!service_version.empty())
    resource.emplace_back("service.version", service_version);
  json::object scope{{"name", "opex"}};
  if (!service_version.empty())
    scope["version"] = service_version;
  json::object body{
    {"resourceSpans",
     json::array{json::object{{"resource", json::object{{"attributes", attributes_json(resource)}}},
                              {"scopeSpans", json::array{json::object{{"scope", std::move(scope)},
                                                                      {"spans", std::move(list)}}}}}}}};
  return json::serialize(body);
}

otlp_trace_exporter::otlp_trace_exporter(otlp_exporter_options options, otlp_sender sender, bool start_thread)
    : options_(std::move(options)), sender_(std::move(sender)) {
  options_.max_batch = std::max<std::size_t>(1, options_.max_batch);
  options_.max_queue = std::max<std::size_t>(1, options_.max_queue);
  if (start_thread)
    thread_ = std::thread([this] { run(); });
}

otlp_trace_exporter::~otlp_trace_exporter() {
  stop();
}

void otlp_trace_exporter::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ && !thread_.joinable())
      return;
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable())
    thread_.join();
  // One export's timeout for all that is left: a collector that is down must not hold a
  // SIGTERM past systemd's stop timeout.
  flush(std::chrono::steady_clock::now() + options_.timeout);
}

std::int64_t otlp_trace_exporter::now_ns() const {
  if (options_.now_unix_ns)
    return options_.now_unix_ns();
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
    .count();
}

std::int64_t otlp_trace_exporter::start_of(std::int64_t end_ns, double duration_ms) const {
  return end_ns - static_cast<std::int64_t>(duration_ms * 1e6);
}

void otlp_trace_exporter::push(span_record s) {
  if (s.trace_id.size() != 32 || s.span_id.size() != 16)
    return;  // a request without a trace (an embedder's call with tracing off upstream)
  bool full_batch = false;
  {
    std::lock_guard lock(mutex_);
    if (queue_.size() >= options_.max_queue) {
      dropped_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    queue_.push_back(std::move(s));
    full_batch = queue_.size() >= options_.max_batch;
  }
  if (full_batch)
    wake_.notify_one();
}

bool otlp_trace_exporter::send_batch(std::vector<span_record> batch, std::chrono::steady_clock::time_point deadline) {
  if (batch.empty() || !sender_)
    return true;
  auto body = encode(batch, options_.service_name, options_.service_version);
  auto answered = std::make_shared<std::promise<std::pair<bool, std::string>>>();
  auto result = answered->get_future();
  requests_.fetch_add(1, std::memory_order_relaxed);
  sender_(std::move(body), [answered](bool ok, std::string why) {
    try {
      answered->set_value({ok, std::move(why)});
    } catch (const std::future_error&) {
      // answered twice: the first answer counts
    }
  });
  auto wait = std::min<std::chrono::steady_clock::duration>(options_.timeout + std::chrono::seconds(1),
                                                            deadline - std::chrono::steady_clock::now());
  bool answered_in_time = result.wait_for(std::max<std::chrono::steady_clock::duration>(wait, {})) == std::future_status::ready;
  auto [ok, why] = answered_in_time ? result.get() : std::pair<bool, std::string>{false, "no answer in time"};
  (ok ? exported_ : failed_).fetch_add(batch.size(), std::memory_order_relaxed);
  if (!ok) {
    // Once a minute at most: a collector that is down must not flood the log.
    auto now = std::chrono::steady_clock::now();
    if (now - last_failure_logged_ >= std::chrono::minutes(1)) {
      last_failure_logged_ = now;
      log_event(log_level::warn, "tracing.export_failed", "spans were not exported: " + why,
                boost::json::object{{"spans", batch.size()}, {"failed_so_far", failed_.load()}});
    }
  }
  return ok;
}

void otlp_trace_exporter::flush(std::chrono::steady_clock::time_point deadline) {
  std::lock_guard sending(send_mutex_);
  for (;;) {
    std::vector<span_record> batch;
    {
      std::lock_guard lock(mutex_);
      if (queue_.empty())
        return;
      if (std::chrono::steady_clock::now() >= deadline) {  // out of time: the rest is not sent
        failed_.fetch_add(queue_.size(), std::memory_order_relaxed);
        queue_.clear();
        return;
      }
      auto n = std::min(queue_.size(), options_.max_batch);
      batch.assign(std::make_move_iterator(queue_.begin()), std::make_move_iterator(queue_.begin() + n));
      queue_.erase(queue_.begin(), queue_.begin() + n);
    }
    send_batch(std::move(batch), deadline);
  }
}

void otlp_trace_exporter::run() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    wake_.wait_for(lock, options_.flush_interval,
                   [this] { return stopping_ || queue_.size() >= options_.max_batch; });
    if (stopping_)
      break;
    lock.unlock();
    flush();
    lock.lock();
  }
}

otlp_exporter_stats otlp_trace_exporter::stats() const {
  return {exported_.load(), dropped_.load(), failed_.load(), requests_.load()};
}

} // namespace opex::observers
