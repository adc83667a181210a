// opexctl --server URL: the commands that talk to a running opexd over its HTTP API instead of
// opening the database (README, "opexctl"; the routes are docs/operations.md's).
#include "opexctl.hpp"

#include "opex/connectors/http_client.hpp"
#include "opex/json_util.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/url/url.hpp>

#include <future>
#include <iostream>

namespace opexctl {

namespace json = boost::json;
using namespace opex;

result<server_answer> call_server(const common_options& o, const std::string& method, const std::string& path,
                                  const std::string& body) {
  if (o.api_key.empty())
    return make_error(error_code::unauthorized, "--server needs an API key: --api-key KEY or OPEX_API_KEY",
                      json::object{{"option", "--api-key"}});
  auto url = o.server;
  while (!url.empty() && url.back() == '/')
    url.pop_back();
  if (!connectors::parse_url(url))
    return make_error(error_code::validation_error, "--server: not an http:// or https:// URL: " + o.server,
                      json::object{{"option", "--server"}, {"value", o.server}});
  connectors::http_request req;
  req.method = method;
  req.url = url + path;
  req.headers = {{"X-API-Key", o.api_key}, {"Accept", "application/json"}};
  if (!body.empty()) {
    req.headers.emplace_back("Content-Type", "application/json");
    req.body = body;
  }
  req.timeout = std::chrono::milliseconds(o.timeout_ms);
  connectors::http_client_options options;
  options.ca_file = o.ca_file;
  connectors::http_client client(options);
  // Shared with the I/O thread's completion, which may still hold it after get() returns.
  auto done = std::make_shared<std::promise<std::pair<error_info, connectors::http_response>>>();
  auto answered = done->get_future();
  client.send(std::move(req), [done](error_info err, connectors::http_response res) {
    try {
      done->set_value({std::move(err), std::move(res)});
    } catch (const std::future_error&) {
      // answered twice: the first answer counts
    }
  });
  auto [err, res] = answered.get();
  if (err) {
    err.message = "cannot reach opexd at " + o.server + ": " + err.message;
    return err;
  }
  server_answer a;
  a.status = res.status;
  boost::system::error_code ec;
  a.body = json::parse(res.body, ec);
  if (ec || !a.body.is_object())
    return make_error(error_code::protocol_error,
                      "opexd answered " + std::to_string(res.status) + " without a JSON object",
                      json::object{{"status", res.status}, {"path", path}});
  return a;
}

/// A call that never got an answer: a missing key or a bad URL is the command line's fault (2),
/// an unreachable or broken server is not (1).
int print_call_error(const error_info& err, const common_options& o) {
  bool usage = err.code == error_code::unauthorized || err.code == error_code::validation_error;
  return print_error(err, o, usage ? exit_usage : exit_failed);
}

bool is_error_answer(const server_answer& a) {
  return a.body.as_object().contains("error_code");
}

int print_answer_error(const server_answer& a, const common_options& o, bool submission) {
  const auto& b = a.body.as_object();
  if (o.json_output) {
    std::cout << json::serialize(b) << std::endl;
  } else {
    std::cerr << "opexctl: " << (b.contains("error") && b.at("error").is_string() ? b.at("error").as_string().c_str() : "")
              << " [" << (b.at("error_code").is_string() ? b.at("error_code").as_string().c_str() : "") << ", HTTP "
              << a.status << "]\n";
  }
  if (a.status == 401 || a.status == 403)
    return exit_usage;  // the key or the server is wrong, not the request
  if (a.status == 429 || a.status >= 500)
    return exit_failed;
  return submission || a.status == 404 || a.status == 409 ? exit_refused : exit_usage;
}

int remote_submit(const common_options& o, const std::string& path, const json::object& body) {
  auto a = call_server(o, "POST", path, json::serialize(body));
  if (!a)
    return print_call_error(a.error(), o);
  if (is_error_answer(*a))
    return print_answer_error(*a, o, true);
  return finish(request_result_from_json(a->body.as_object()), o);
}

int remote_show(const common_options& o, const std::string& method, const std::string& path, const std::string& body,
                const std::function<void(const json::object&)>& human) {
  auto a = call_server(o, method, path, body);
  if (!a)
    return print_call_error(a.error(), o);
  if (is_error_answer(*a))
    return print_answer_error(*a, o, false);
  if (o.json_output || !human)
    std::cout << json::serialize(a->body) << std::endl;
  else
    human(a->body.as_object());
  return exit_succeeded;
}

std::string query_string(const std::vector<std::pair<std::string, std::string>>& params) {
  boost::urls::url u;
  for (const auto& [k, v] : params)
    if (!v.empty())
      u.params().append({k, v});
  return u.encoded_query().empty() ? std::string() : "?" + std::string(u.encoded_query());
}

} // namespace opexctl
