// The OTLP span exporter of an engine whose opex.yml has `tracing.endpoint`: its spans go over
// an HTTP client of their own, off the actors' and the request path's threads
// (docs/operations.md, "Traces").
#include "engine_impl.hpp"

#include "opex/connectors/http_client.hpp"
#include "opex/observers/otlp_trace_exporter.hpp"

namespace opex {

std::shared_ptr<observers::otlp_trace_exporter> make_trace_exporter(const opex_config& cfg, const std::string& version) {
  const auto& t = cfg.tracing;
  if (t.endpoint.empty())
    return nullptr;
  std::vector<std::pair<std::string, std::string>> headers{{"Content-Type", "application/json"}};
  for (const auto& [name, value] : t.headers) {
    auto resolved = resolve_reference(value);
    if (!resolved)
      throw engine_error(make_error(error_code::config_error, "tracing.headers." + name + ": " + resolved.error().message,
                                    boost::json::object{{"key", "tracing.headers." + name}}));
    headers.emplace_back(name, std::move(resolved).value());
  }
  connectors::http_client_options http;
  http.ca_file = cfg.targets.ca_file;
  http.verify_tls = cfg.targets.verify_tls;
  http.max_connections_per_origin = 2;
  auto client = std::make_shared<connectors::http_client>(http);
  auto timeout = std::chrono::milliseconds(t.timeout_ms);
  observers::otlp_sender sender = [client, headers, url = t.endpoint, timeout](
                                    std::string body, std::function<void(bool, std::string)> done) {
    connectors::http_request req;
    req.method = "POST";
    req.url = url;
    req.headers = headers;
    req.body = std::move(body);
    req.timeout = timeout;
    client->send(std::move(req), [done = std::move(done)](error_info err, connectors::http_response res) {
      if (err)
        done(false, err.message);
      else if (res.status < 200 || res.status >= 300)
        done(false, "the collector answered " + std::to_string(res.status));
      else
        done(true, {});
    });
  };
  observers::otlp_exporter_options o;
  o.service_name = t.service_name;
  o.service_version = version;
  o.max_batch = static_cast<std::size_t>(t.max_batch);
  o.flush_interval = std::chrono::milliseconds(t.flush_interval_ms);
  o.max_queue = static_cast<std::size_t>(t.max_queue);
  o.timeout = timeout;
  o.capture_content = t.capture_content;
  return std::make_shared<observers::otlp_trace_exporter>(std::move(o), std::move(sender));
}

} // namespace opex
