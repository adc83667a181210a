// The n8n connector's internals: its shared state (settings, HTTP client, I/O thread, login
// cookies), one operation in progress as a chain of HTTP exchanges with n8n's public and internal
// REST APIs (`n8n_op`), and the lookups the operations share. Each operation has its own file:
// op_list_workflows.cpp, op_workflow_upsert.cpp, op_workflow_test.cpp, op_workflow_promote.cpp,
// op_workflow_design.cpp; the connector (n8n_connector.cpp) dispatches to them.
#pragma once


#include "opex/connectors/n8n_connector.hpp"

#include "opex/clock.hpp"
#include "opex/connectors/http_client.hpp"
#include "opex/connectors/llm_client.hpp"
#include "opex/call_environment.hpp"
#include "opex/json_util.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <set>
#include <thread>

namespace opex::connectors::n8n_detail {

namespace asio = boost::asio;
namespace json = boost::json;
namespace chr = std::chrono;

inline constexpr std::string_view browser_id = "opex-n8n-connector";

inline std::string url_encode(std::string_view s) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  return out;
}

inline std::string slug(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c))
      out.push_back(static_cast<char>(std::tolower(c)));
    else if (!out.empty() && out.back() != '-')
      out.push_back('-');
    if (out.size() >= 40)
      break;
  }
  while (!out.empty() && out.back() == '-')
    out.pop_back();
  return out.empty() ? "workflow" : out;
}

/// The environment an operation's payload names (upsert: target/environment; promote: from).
inline std::string environment_of(std::string_view operation, const json::object& payload) {
  if (operation == "workflow_promote")  // the instance it promotes from; it lands in call_environment's `to`
    return std::string(get_string(payload, "from").value_or("sandbox"));
  return call_environment(payload, "sandbox");
}

inline json::array tag_names(const json::value& workflow) {
  json::array out;
  if (workflow.is_object())
    if (const auto* tags = get_member(workflow.get_object(), "tags"); tags && tags->is_array())
      for (const auto& t : tags->get_array())
        if (t.is_object())
          if (auto n = get_string(t.get_object(), "name"))
            out.emplace_back(*n);
  return out;
}

inline std::int64_t node_count(const json::value& workflow) {
  if (workflow.is_object())
    if (const auto* nodes = get_member(workflow.get_object(), "nodes"); nodes && nodes->is_array())
      return static_cast<std::int64_t>(nodes->get_array().size());
  return 0;
}

/// The body n8n's public API accepts for a workflow: name, nodes, connections, settings.
inline json::object workflow_body(const std::string& name, const json::object& spec) {
  json::object body{{"name", name}};
  body["nodes"] = spec.contains("nodes") ? spec.at("nodes") : json::array{};
  body["connections"] = spec.contains("connections") ? spec.at("connections") : json::object{};
  json::object settings{{"executionOrder", "v1"}};
  if (const auto* s = get_member(spec, "settings"); s && s->is_object())
    settings = s->get_object();
  body["settings"] = std::move(settings);
  if (const auto* sd = get_member(spec, "staticData"); sd && !sd->is_null())
    body["staticData"] = *sd;
  return body;
}

/// True when every key of `expected` is in `actual` with an equal value (objects recursively).
inline bool contains_subset(const json::value& actual, const json::value& expected) {
  if (expected.is_object()) {
    if (!actual.is_object())
      return false;
    for (const auto& kv : expected.get_object()) {
      const auto* a = actual.get_object().if_contains(kv.key());
      if (!a || !contains_subset(*a, kv.value()))
        return false;
    }
    return true;
  }
  if (expected.is_number() && actual.is_number())
    return expected.to_number<double>() == actual.to_number<double>();
  return actual == expected;
}

inline double iso_ms(std::string_view iso) {
  auto t = parse_iso8601(iso);
  if (!t)
    return 0;
  return static_cast<double>(chr::duration_cast<chr::milliseconds>(t->utc.time_since_epoch()).count());
}

/// What every operation shares: settings, clients, the I/O thread, the login cookies.
struct state {
  n8n_settings settings;
  std::shared_ptr<http_client> http;
  std::shared_ptr<const llm_service> llm;
  std::string design_llm;
  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> work{io.get_executor()};
  std::map<std::string, std::string> cookies;  ///< instance -> "n8n-auth=..." (I/O thread only)
  std::thread thread;

  ~state() {
    work.reset();
    io.stop();
    if (thread.joinable() && thread.get_id() != std::this_thread::get_id())
      thread.join();
    else if (thread.joinable())
      thread.detach();
  }
};

using impl_ptr = std::shared_ptr<n8n_detail::state>;
using value_cb = std::function<void(json::value)>;
using status_cb = std::function<void(int, json::value)>;

/// One operation in progress. Everything runs on the connector's I/O thread.
class n8n_op : public std::enable_shared_from_this<n8n_op> {
public:
  n8n_op(impl_ptr im, const n8n_instance_settings* inst, std::string operation, json::object payload,
         call_context ctx, call_completion done)
    : im_(std::move(im)), inst_(inst), operation_(std::move(operation)), payload_(std::move(payload)),
      ctx_(std::move(ctx)), done_(std::move(done)), timer_(im_->io) {}

  const n8n_instance_settings& inst() const { return *inst_; }
  const json::object& payload() const { return payload_; }
  const std::string& operation() const { return operation_; }
  impl_ptr& im() { return im_; }
  asio::steady_timer& timer() { return timer_; }
  bool over() const { return finished_; }

  void switch_instance(const n8n_instance_settings* inst) { inst_ = inst; }

  void succeed(json::object data) {
    if (finished_)
      return;
    finished_ = true;
    timer_.cancel();
    data["instance"] = inst_->name;
    call_outcome out;
    out.ok = true;
    out.data = std::move(data);
    done_(std::move(out));
  }

  void fail(error_info err) {
    if (finished_)
      return;
    finished_ = true;
    timer_.cancel();
    if (!err.details.contains("instance"))
      err.details["instance"] = inst_->name;
    err.details["operation"] = operation_;
    call_outcome out;
    out.error = std::move(err);
    done_(std::move(out));
  }

  void cancel() {
    if (finished_)
      return;
    if (in_flight_)
      in_flight_();
    fail(make_error(error_code::cancelled, "the n8n call was cancelled"));
  }

  /// A public-API exchange; 2xx (and the statuses in `accept`) go to `cb`, others fail the op.
  void api(std::string method, std::string path, std::optional<json::value> body, status_cb cb,
           std::set<int> accept = {}) {
    auto key = resolve_reference(inst_->api_key);
    if (!key) {
      auto err = std::move(key).error();
      err.message = "n8n instance " + inst_->name + ": its API key " + inst_->api_key + " is not set";
      fail(std::move(err));
      return;
    }
    http_request req;
    req.method = std::move(method);
    req.url = inst_->base_url + "/api/v1" + path;
    req.timeout = chr::milliseconds(inst_->timeout_ms);
    req.headers = {{"X-N8N-API-KEY", *key}, {"Accept", "application/json"}};
    if (body) {
      req.headers.emplace_back("Content-Type", "application/json");
      req.body = json::serialize(*body);
    }
    exchange(std::move(req), std::move(cb), std::move(accept));
  }

  /// An internal-REST exchange as the instance's owner (logs in first, and again once on 401).
  void rest(std::string method, std::string path, std::optional<json::value> body, status_cb cb, bool relogged = false) {
    auto& cookie = im_->cookies[inst_->name];
    if (cookie.empty())
      cookie = read_session();
    if (cookie.empty()) {
      login([self = shared_from_this(), method, path, body, cb, relogged]() mutable {
        self->rest(std::move(method), std::move(path), std::move(body), std::move(cb), relogged);
      });
      return;
    }
    http_request req;
    req.method = method;
    req.url = inst_->base_url + "/rest" + path;
    req.timeout = chr::milliseconds(inst_->timeout_ms);
    req.headers = {{"Cookie", cookie}, {"browser-id", std::string(browser_id)}, {"Accept", "application/json"}};
    if (body) {
      req.headers.emplace_back("Content-Type", "application/json");
      req.body = json::serialize(*body);
    }
    auto self = shared_from_this();
    exchange(
      std::move(req),
      [self, method, path, body, cb, relogged](int status, json::value v) mutable {
        if (status == 401 && !relogged) {
          self->im_->cookies[self->inst_->name].clear();
          self->write_session("");
          self->rest(std::move(method), std::move(path), std::move(body), std::move(cb), true);
          return;
        }
        cb(status, std::move(v));
      },
      {401});
  }

private:
  impl_ptr im_;
  const n8n_instance_settings* inst_;
  std::string operation_;
  json::object payload_;
  call_context ctx_;
  call_completion done_;
  asio::steady_timer timer_;
  std::function<void()> in_flight_;
  bool finished_ = false;

  /// The file keeping this instance's owner session between processes.
  std::string session_file() const {
    if (im_->settings.session_dir.empty())
      return {};
    auto key = inst_->base_url + "|" + inst_->owner_email;
    return (std::filesystem::path(im_->settings.session_dir)
            / (inst_->name + "-" + std::to_string(std::hash<std::string>{}(key)) + ".session"))
      .string();
  }

  std::string read_session() const {
    auto file = session_file();
    if (file.empty())
      return {};
    std::ifstream in(file);
    std::string cookie;
    std::getline(in, cookie);
    return cookie.starts_with("n8n-auth=") ? cookie : std::string{};
  }

  /// Writes (or, with "", removes) the session file, readable by its owner only.
  void write_session(const std::string& cookie) const {
    auto file = session_file();
    if (file.empty())
      return;
    std::error_code ec;
    if (cookie.empty()) {
      std::filesystem::remove(file, ec);
      return;
    }
    std::filesystem::create_directories(im_->settings.session_dir, ec);
    auto tmp = file + ".tmp";
    {
      std::ofstream out(tmp, std::ios::trunc);
      std::filesystem::permissions(tmp, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write,
                                   std::filesystem::perm_options::replace, ec);
      out << cookie << "\n";
    }
    std::filesystem::rename(tmp, file, ec);
  }

  void login(std::function<void()> then) {
    if (inst_->owner_email.empty() || inst_->owner_password.empty()) {
      fail(make_error(error_code::connector_unavailable,
                      "n8n instance " + inst_->name + " has no owner login (owner_email, owner_password)",
                      json::object{{"reason", "running a workflow with test data needs n8n's internal API"}}));
      return;
    }
    auto email = resolve_reference(inst_->owner_email);
    auto password = resolve_reference(inst_->owner_password);
    if (!email || !password) {
      auto err = !email ? std::move(email).error() : std::move(password).error();
      err.message = "n8n instance " + inst_->name + ": the owner login is not set";
      fail(std::move(err));
      return;
    }
    http_request req;
    req.method = "POST";
    req.url = inst_->base_url + "/rest/login";
    req.timeout = chr::milliseconds(inst_->timeout_ms);
    req.headers = {{"Content-Type", "application/json"}, {"browser-id", std::string(browser_id)}};
    req.body = json::serialize(json::object{{"emailOrLdapLoginId", *email}, {"password", *password}});
    auto self = shared_from_this();
    send(std::move(req), [self, then = std::move(then)](error_info err, http_response res) {
      if (err) {
        self->fail(std::move(err));
        return;
      }
      if (res.status != 200) {
        json::object details{{"status", res.status}, {"body", res.body.substr(0, 512)}};
        if (auto ra = res.header("retry-after"))
          details["retry_after"] = *ra;
        self->fail(make_error(error_code::http_error, "n8n refused the owner login (HTTP " + std::to_string(res.status) + ")",
                              std::move(details)));
        return;
      }
      for (const auto& [name, value] : res.headers)
        if (name == "set-cookie" && value.starts_with("n8n-auth="))
          self->im_->cookies[self->inst_->name] = value.substr(0, value.find(';'));
      if (self->im_->cookies[self->inst_->name].empty()) {
        self->fail(make_error(error_code::protocol_error, "n8n's login answered without its n8n-auth cookie"));
        return;
      }
      self->write_session(self->im_->cookies[self->inst_->name]);
      then();
    });
  }

  /// Every exchange of the operation (public API, login, internal REST) carries the attempt's
  /// trace context (docs/operations.md, "Traces").
  void send(http_request req, std::function<void(error_info, http_response)> cb) {
    add_trace_headers(ctx_.trace, req.headers);
    auto self = shared_from_this();
    in_flight_ = im_->http->send(std::move(req), [self, cb = std::move(cb)](error_info err, http_response res) mutable {
      asio::post(self->im_->io, [self, cb = std::move(cb), err = std::move(err), res = std::move(res)]() mutable {
        self->in_flight_ = nullptr;
        if (self->finished_)
          return;
        cb(std::move(err), std::move(res));
      });
    });
  }

  void exchange(http_request req, status_cb cb, std::set<int> accept) {
    auto what = req.method + " " + req.url.substr(inst_->base_url.size());
    auto self = shared_from_this();
    send(std::move(req), [self, what, cb = std::move(cb), accept = std::move(accept)](error_info err, http_response res) {
      if (err) {
        err.details["request"] = what;
        self->fail(std::move(err));
        return;
      }
      json::value body;
      if (res.body.find_first_not_of(" \t\r\n") != std::string::npos)
        if (auto parsed = parse_json(res.body))
          body = std::move(parsed).value();
      if ((res.status >= 200 && res.status <= 299) || accept.contains(res.status)) {
        cb(res.status, std::move(body));
        return;
      }
      std::string message;
      if (body.is_object())
        message = std::string(get_string(body.get_object(), "message").value_or(""));
      json::object details{{"status", res.status}, {"request", what}, {"body", res.body.substr(0, 2048)}};
      if (!message.empty())
        details["message"] = message;
      if (auto ra = res.header("retry-after"))
        details["retry_after"] = *ra;
      self->fail(make_error(error_code::http_error,
                            "n8n answered HTTP " + std::to_string(res.status) + " to " + what
                              + (message.empty() ? "" : ": " + message),
                            std::move(details)));
    });
  }
};

using op_ptr = std::shared_ptr<n8n_op>;

void find_workflow(const op_ptr& op, const std::string& id, const std::string& name, value_cb cb);
void create_tags(const op_ptr& op, std::shared_ptr<std::map<std::string, std::string>> known,
                 std::shared_ptr<std::vector<std::string>> missing, std::size_t i, std::function<void()> finish);
void ensure_tags(const op_ptr& op, std::vector<std::string> names, std::function<void(json::array)> cb);
void set_active(const op_ptr& op, const std::string& id, bool now_active, bool wanted, std::function<void(bool)> cb);
std::vector<std::string> strings_of(const json::object& o, std::string_view key);

// The operations, each in its own file; all run on the connector's I/O thread.
void list_workflows(const op_ptr& op);
void upsert(const op_ptr& op);
void test_workflow(const op_ptr& op);
void promote(const op_ptr& op, const n8n_instance_settings* target);
void design(const op_ptr& op, int max_nodes);

} // namespace opex::connectors::n8n_detail
