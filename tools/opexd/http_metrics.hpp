// opexd's HTTP series, in the engine's Prometheus registry (docs/operations.md, "Metrics").
// prometheus-cpp stays in the .cpp file.
#pragma once

#include <cstddef>
#include <memory>
#include <string_view>

namespace prometheus {
class Registry;
}

namespace opex::tools {

/// Series (all thread-safe):
/// - `opex_http_requests_total{route, method, code}`: answers by route (the route table's
///   path, `{id}` for its id segment, `none` when no route matched), method (GET, POST,
///   DELETE, OPTIONS, other) and HTTP status code;
/// - `opex_http_request_duration_seconds{route}`: histogram, from the headers read to the
///   answer written;
/// - `opex_http_response_bytes_total{route}`;
/// - `opex_http_connections`: open connections; `opex_http_connections_total`: accepted;
///   `opex_http_connections_rejected_total{reason}` (connection_limit);
/// - `opex_http_rate_limited_total{route}`: answers 429 RATE_LIMITED.
class http_metrics {
public:
  explicit http_metrics(prometheus::Registry& registry);
  ~http_metrics();

  void connection_opened();
  void connection_closed();
  void connection_rejected(std::string_view reason);
  void answered(std::string_view route, std::string_view method, int status, double seconds, std::size_t bytes);
  void rate_limited(std::string_view route);

private:
  struct families;
  std::unique_ptr<families> f_;
};

} // namespace opex::tools
