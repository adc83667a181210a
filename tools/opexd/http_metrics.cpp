// opexd's HTTP series (http_metrics.hpp) over prometheus-cpp.
#include "http_metrics.hpp"

#include "opex/observers/prometheus_metrics.hpp"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <string>

namespace opex::tools {

namespace pm = prometheus;

struct http_metrics::families {
  explicit families(pm::Registry& r)
    : requests(pm::BuildCounter().Name("opex_http_requests_total").Help("HTTP answers by route, method and status code").Register(r)),
      duration(pm::BuildHistogram().Name("opex_http_request_duration_seconds").Help("From the request's headers to its answer").Register(r)),
      bytes(pm::BuildCounter().Name("opex_http_response_bytes_total").Help("Bytes of answer bodies by route").Register(r)),
      connections(pm::BuildGauge().Name("opex_http_connections").Help("Open HTTP connections").Register(r).Add({})),
      accepted(pm::BuildCounter().Name("opex_http_connections_total").Help("HTTP connections accepted").Register(r).Add({})),
      rejected(pm::BuildCounter().Name("opex_http_connections_rejected_total").Help("HTTP connections refused, by reason").Register(r)),
      limited(pm::BuildCounter().Name("opex_http_rate_limited_total").Help("Requests answered 429 RATE_LIMITED, by route").Register(r)) {
    rejected.Add({{"reason", "connection_limit"}});
  }
  pm::Family<pm::Counter>& requests;
  pm::Family<pm::Histogram>& duration;
  pm::Family<pm::Counter>& bytes;
  pm::Gauge& connections;
  pm::Counter& accepted;
  pm::Family<pm::Counter>& rejected;
  pm::Family<pm::Counter>& limited;
};

namespace {

std::string method_label(std::string_view m) {
  for (std::string_view known : {"GET", "POST", "DELETE", "OPTIONS", "PUT", "HEAD", "PATCH"})
    if (m == known)
      return std::string(m);
  return "other";
}

} // namespace

http_metrics::http_metrics(prometheus::Registry& registry) : f_(std::make_unique<families>(registry)) {}
http_metrics::~http_metrics() = default;

void http_metrics::connection_opened() {
  f_->connections.Increment();
  f_->accepted.Increment();
}

void http_metrics::connection_closed() {
  f_->connections.Decrement();
}

void http_metrics::connection_rejected(std::string_view reason) {
  f_->rejected.Add({{"reason", std::string(reason)}}).Increment();
}

void http_metrics::answered(std::string_view route, std::string_view method, int status, double seconds,
                            std::size_t bytes) {
  std::string r(route.empty() ? "none" : route);
  f_->requests.Add({{"route", r}, {"method", method_label(method)}, {"code", std::to_string(status)}}).Increment();
  f_->duration.Add({{"route", r}}, observers::duration_buckets_seconds()).Observe(seconds);
  f_->bytes.Add({{"route", r}}).Increment(static_cast<double>(bytes));
}

void http_metrics::rate_limited(std::string_view route) {
  f_->limited.Add({{"route", std::string(route)}}).Increment();
}

} // namespace opex::tools
