// A blocking HTTP call for tests, over opex's own client: status, parsed JSON body, raw response.
#pragma once

#include "opex/connectors/http_client.hpp"
#include "opex/json_util.hpp"

#include <boost/json/value.hpp>

#include <chrono>
#include <future>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace opex::test {

struct http_reply {
  int status = 0;  ///< -1 when the call itself failed
  boost::json::value body;
  connectors::http_response raw;
};

/// Sends one request and waits for its answer (a bound, not a measurement: 30 s).
inline http_reply http_call(connectors::http_client& client, std::string method, std::string url, std::string body,
                            std::vector<std::pair<std::string, std::string>> headers = {}) {
  connectors::http_request req;
  req.method = std::move(method);
  req.url = std::move(url);
  req.body = std::move(body);
  req.headers = std::move(headers);
  std::promise<http_reply> p;
  auto f = p.get_future();
  client.send(std::move(req), [&p](error_info err, connectors::http_response res) {
    http_reply r;
    r.status = err ? -1 : res.status;
    auto parsed = parse_json(res.body);
    r.body = parsed ? std::move(parsed).value() : boost::json::value(nullptr);
    r.raw = std::move(res);
    p.set_value(std::move(r));
  });
  if (f.wait_for(std::chrono::seconds(30)) != std::future_status::ready)
    throw std::runtime_error("no answer within 30 s from " + req.url);
  return f.get();
}

} // namespace opex::test
