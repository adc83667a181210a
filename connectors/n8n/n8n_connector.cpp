// n8n operations as chains of HTTP exchanges, run on the connector's own I/O thread (so that a
// test run can poll its execution on a timer without holding an actor thread). See
// n8n_connector.hpp for the operations and their results.
#include "opex/connectors/n8n_connector.hpp"

#include "opex/clock.hpp"
#include "opex/connectors/http_client.hpp"
#include "opex/connectors/llm_client.hpp"
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

namespace opex::connectors {

namespace asio = boost::asio;
namespace json = boost::json;
namespace chr = std::chrono;

namespace {

constexpr std::string_view browser_id = "opex-n8n-connector";

std::string url_encode(std::string_view s) {
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

std::string slug(std::string_view s) {
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
std::string environment_of(std::string_view operation, const json::object& payload) {
  if (operation == "workflow_promote")
    return std::string(get_string(payload, "from").value_or("sandbox"));
  if (auto t = get_string(payload, "target"))
    return std::string(*t);
  if (auto e = get_string(payload, "environment"))
    return std::string(*e);
  return "sandbox";
}

json::array tag_names(const json::value& workflow) {
  json::array out;
  if (workflow.is_object())
    if (const auto* tags = get_member(workflow.get_object(), "tags"); tags && tags->is_array())
      for (const auto& t : tags->get_array())
        if (t.is_object())
          if (auto n = get_string(t.get_object(), "name"))
            out.emplace_back(*n);
  return out;
}

std::int64_t node_count(const json::value& workflow) {
  if (workflow.is_object())
    if (const auto* nodes = get_member(workflow.get_object(), "nodes"); nodes && nodes->is_array())
      return static_cast<std::int64_t>(nodes->get_array().size());
  return 0;
}

/// The body n8n's public API accepts for a workflow: name, nodes, connections, settings.
json::object workflow_body(const std::string& name, const json::object& spec) {
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
bool contains_subset(const json::value& actual, const json::value& expected) {
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

double iso_ms(std::string_view iso) {
  auto t = parse_iso8601(iso);
  if (!t)
    return 0;
  return static_cast<double>(chr::duration_cast<chr::milliseconds>(t->utc.time_since_epoch()).count());
}

} // namespace

std::string_view n8n_operation_for(std::string_view tool_id) noexcept {
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 5> operations{{
    {"N8N_LIST_WORKFLOWS", "list_workflows"}, {"N8N_WORKFLOW_UPSERT", "workflow_upsert"},
    {"N8N_WORKFLOW_TEST", "workflow_test"},   {"N8N_WORKFLOW_PROMOTE", "workflow_promote"},
    {"N8N_WORKFLOW_DESIGN", "workflow_design"}}};
  for (const auto& [tool, operation] : operations)
    if (tool == tool_id)
      return operation;
  return {};
}

// -- the connector's state ---------------------------------------------------------------------

namespace n8n_detail {

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

} // namespace n8n_detail

struct n8n_connector::impl : n8n_detail::state {};

namespace {

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

  void send(http_request req, std::function<void(error_info, http_response)> cb) {
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

// -- lookups ------------------------------------------------------------------------------------

/// Finds a workflow by id (payload workflow_id) or exact name; `cb` gets it or null.
void find_workflow(const op_ptr& op, const std::string& id, const std::string& name, value_cb cb) {
  if (!id.empty()) {
    op->api("GET", "/workflows/" + url_encode(id), std::nullopt,
            [cb](int status, json::value v) { cb(status == 404 ? json::value(nullptr) : std::move(v)); }, {404});
    return;
  }
  op->api("GET", "/workflows?limit=250&name=" + url_encode(name), std::nullopt, [op, name, cb](int, json::value v) {
    if (v.is_object())
      if (const auto* data = get_member(v.get_object(), "data"); data && data->is_array())
        for (const auto& w : data->get_array())
          if (w.is_object() && get_string(w.get_object(), "name") == std::string_view(name)) {
            // The list carries the whole workflow in 1.x; read it once more to be sure.
            auto wid = std::string(get_string(w.get_object(), "id").value_or(""));
            op->api("GET", "/workflows/" + url_encode(wid), std::nullopt, [cb](int, json::value full) { cb(std::move(full)); });
            return;
          }
    cb(nullptr);
  });
}

/// Creates the tags `missing[i...]`, recording their ids in `known`, then calls `finish`.
void create_tags(const op_ptr& op, std::shared_ptr<std::map<std::string, std::string>> known,
                 std::shared_ptr<std::vector<std::string>> missing, std::size_t i, std::function<void()> finish) {
  if (i == missing->size()) {
    finish();
    return;
  }
  op->api("POST", "/tags", json::value(json::object{{"name", (*missing)[i]}}),
          [op, known, missing, i, finish = std::move(finish)](int, json::value t) mutable {
            if (t.is_object())
              (*known)[(*missing)[i]] = std::string(get_string(t.get_object(), "id").value_or(""));
            create_tags(op, known, missing, i + 1, std::move(finish));
          });
}

/// Tag ids for names, creating the missing tags.
void ensure_tags(const op_ptr& op, std::vector<std::string> names, std::function<void(json::array)> cb) {
  op->api("GET", "/tags?limit=250", std::nullopt, [op, names = std::move(names), cb](int, json::value v) {
    auto known = std::make_shared<std::map<std::string, std::string>>();
    if (v.is_object())
      if (const auto* data = get_member(v.get_object(), "data"); data && data->is_array())
        for (const auto& t : data->get_array())
          if (t.is_object())
            (*known)[std::string(get_string(t.get_object(), "name").value_or(""))] =
              std::string(get_string(t.get_object(), "id").value_or(""));
    auto missing = std::make_shared<std::vector<std::string>>();
    for (const auto& n : names)
      if (!known->contains(n))
        missing->push_back(n);
    create_tags(op, known, missing, 0, [known, names, cb]() {
      json::array ids;
      for (const auto& n : names)
        ids.push_back(json::object{{"id", (*known)[n]}});
      cb(std::move(ids));
    });
  });
}

/// Activates or deactivates when the workflow is not already so.
void set_active(const op_ptr& op, const std::string& id, bool now_active, bool wanted, std::function<void(bool)> cb) {
  if (now_active == wanted) {
    cb(now_active);
    return;
  }
  op->api("POST", "/workflows/" + url_encode(id) + (wanted ? "/activate" : "/deactivate"), std::nullopt,
          [cb, wanted](int, json::value) { cb(wanted); });
}

std::vector<std::string> strings_of(const json::object& o, std::string_view key) {
  std::vector<std::string> out;
  if (const auto* v = get_member(o, key); v && v->is_array())
    for (const auto& s : v->get_array())
      if (s.is_string())
        out.emplace_back(s.get_string());
  return out;
}

// -- list_workflows -------------------------------------------------------------------------------

/// One page of GET /workflows; the next page follows until `limit` workflows or the last page.
void list_page(const op_ptr& op, std::string query, std::int64_t limit, std::shared_ptr<json::array> out,
               const std::string& cursor) {
  op->api("GET", "/workflows" + query + (cursor.empty() ? "" : "&cursor=" + url_encode(cursor)), std::nullopt,
          [op, query, limit, out](int, json::value v) {
            std::string next;
            if (v.is_object()) {
              if (const auto* data = get_member(v.get_object(), "data"); data && data->is_array())
                for (const auto& w : data->get_array()) {
                  if (!w.is_object() || static_cast<std::int64_t>(out->size()) >= limit)
                    continue;
                  const auto& wo = w.get_object();
                  out->push_back(json::object{{"id", get_string(wo, "id").value_or("")},
                                              {"name", get_string(wo, "name").value_or("")},
                                              {"active", wo.contains("active") ? wo.at("active") : json::value(false)},
                                              {"tags", tag_names(w)},
                                              {"node_count", node_count(w)},
                                              {"created_at", get_string(wo, "createdAt").value_or("")},
                                              {"updated_at", get_string(wo, "updatedAt").value_or("")}});
                }
              next = std::string(get_string(v.get_object(), "nextCursor").value_or(""));
            }
            if (!next.empty() && static_cast<std::int64_t>(out->size()) < limit) {
              list_page(op, query, limit, out, next);
              return;
            }
            op->succeed(json::object{{"count", static_cast<std::int64_t>(out->size())}, {"workflows", std::move(*out)}});
          });
}

void list_workflows(const op_ptr& op) {
  const auto& p = op->payload();
  std::int64_t limit = 100;
  if (const auto* l = get_member(p, "limit"); l && l->is_int64())
    limit = std::clamp<std::int64_t>(l->get_int64(), 1, 1000);
  std::string query = "?limit=" + std::to_string(std::min<std::int64_t>(limit, 250));
  if (const auto* a = get_member(p, "active"); a && a->is_bool())
    query += std::string("&active=") + (a->get_bool() ? "true" : "false");
  if (auto n = get_string(p, "name"))
    query += "&name=" + url_encode(*n);
  auto tags = strings_of(p, "tags");
  if (!tags.empty()) {
    std::string joined;
    for (const auto& t : tags)
      joined += (joined.empty() ? "" : ",") + t;
    query += "&tags=" + url_encode(joined);
  }
  list_page(op, std::move(query), limit, std::make_shared<json::array>(), "");
}

// -- workflow_upsert ------------------------------------------------------------------------------

void upsert(const op_ptr& op) {
  const auto& p = op->payload();
  std::string name(get_string(p, "workflow_name").value_or(""));
  std::string id(get_string(p, "workflow_id").value_or(""));
  std::string mode(get_string(p, "mode").value_or("create_or_update"));
  const json::object* spec = nullptr;
  for (auto key : {"spec", "workflow_json"})
    if (const auto* s = get_member(p, key); s && s->is_object()) {
      spec = &s->get_object();
      break;
    }
  bool want_active = false;
  if (const auto* a = get_member(p, "active"); a && a->is_bool())
    want_active = a->get_bool();
  auto tags = strings_of(p, "tags");
  json::object body = spec ? workflow_body(name, *spec) : json::object{};
  find_workflow(op, id, name, [op, name, mode, body, want_active, tags, has_spec = spec != nullptr](json::value existing) {
    bool exists = existing.is_object();
    if (exists && mode == "create") {
      op->fail(make_error(error_code::conflict, "a workflow named " + name + " already exists",
                          json::object{{"workflow_name", name},
                                       {"workflow_id", get_string(existing.get_object(), "id").value_or("")}}));
      return;
    }
    if (!exists && mode == "update") {
      op->fail(make_error(error_code::not_found, "no workflow " + name + " to update", json::object{{"workflow_name", name}}));
      return;
    }
    if (!has_spec && !exists) {
      op->fail(make_error(error_code::payload_invalid, "a spec (or workflow_json) is needed to create " + name,
                          json::object{{"workflow_name", name}}));
      return;
    }
    auto after_write = [op, name, want_active, tags, exists](int, json::value written) {
      if (!written.is_object()) {
        op->fail(make_error(error_code::protocol_error, "n8n answered the write without the workflow"));
        return;
      }
      std::string wid(get_string(written.get_object(), "id").value_or(""));
      bool active = false;
      if (const auto* a = get_member(written.get_object(), "active"); a && a->is_bool())
        active = a->get_bool();
      auto nodes = node_count(written);
      auto finish = [op, name, wid, nodes, exists, want_active, active](json::array tag_list) {
        set_active(op, wid, active, want_active, [op, name, wid, nodes, exists, tag_list](bool now) {
          op->succeed(json::object{{"workflow_id", wid},
                                   {"workflow_name", name},
                                   {"status", exists ? "updated" : "created"},
                                   {"active", now},
                                   {"tags", tag_list},
                                   {"node_count", nodes},
                                   {"url", op->inst().base_url + "/workflow/" + wid}});
        });
      };
      if (tags.empty()) {
        finish(tag_names(written));
        return;
      }
      ensure_tags(op, tags, [op, wid, finish](json::array ids) {
        op->api("PUT", "/workflows/" + url_encode(wid) + "/tags", json::value(std::move(ids)),
                [finish](int, json::value set) {
                  json::array names;
                  if (set.is_array())
                    for (const auto& t : set.get_array())
                      if (t.is_object())
                        if (auto n = get_string(t.get_object(), "name"))
                          names.emplace_back(*n);
                  finish(std::move(names));
                });
      });
    };
    if (!exists) {
      op->api("POST", "/workflows", json::value(body), after_write);
      return;
    }
    std::string wid(get_string(existing.get_object(), "id").value_or(""));
    json::object update = has_spec ? body : workflow_body(name, existing.get_object());
    op->api("PUT", "/workflows/" + url_encode(wid), json::value(std::move(update)), after_write);
  });
}

// -- workflow_test ----------------------------------------------------------------------------------

/// The node a test run starts from: a trigger (webhook, manual, schedule, any *Trigger), else
/// a node nothing connects to.
const json::object* trigger_node(const json::object& workflow) {
  const auto* nodes = get_member(workflow, "nodes");
  if (!nodes || !nodes->is_array())
    return nullptr;
  for (const auto& n : nodes->get_array())
    if (n.is_object())
      if (auto type = get_string(n.get_object(), "type");
          type && (type->ends_with("Trigger") || type->ends_with(".webhook") || type->ends_with(".formTrigger")))
        return &n.get_object();
  std::set<std::string> targets;
  if (const auto* c = get_member(workflow, "connections"); c && c->is_object())
    for (const auto& from : c->get_object())
      for (const auto& kind : from.value().get_object())
        for (const auto& outputs : kind.value().get_array())
          for (const auto& link : outputs.get_array())
            if (link.is_object())
              targets.insert(std::string(get_string(link.get_object(), "node").value_or("")));
  for (const auto& n : nodes->get_array())
    if (n.is_object() && !targets.contains(std::string(get_string(n.get_object(), "name").value_or(""))))
      return &n.get_object();
  return nullptr;
}

/// Reads an execution: status, duration, last node, its output items, errors.
json::object read_execution(const json::value& execution) {
  json::object r;
  if (!execution.is_object())
    return r;
  const auto& e = execution.get_object();
  r["execution_id"] = get_string(e, "id").value_or("");
  r["status"] = get_string(e, "status").value_or("unknown");
  auto started = get_string(e, "startedAt");
  auto stopped = get_string(e, "stoppedAt");
  if (started && stopped)
    r["duration_ms"] = iso_ms(*stopped) - iso_ms(*started);
  json::array errors;
  json::array output;
  std::string last;
  if (const auto* rd = find_path(execution, "data.resultData"); rd && rd->is_object()) {
    const auto& result = rd->get_object();
    last = std::string(get_string(result, "lastNodeExecuted").value_or(""));
    if (const auto* err = get_member(result, "error"); err && err->is_object()) {
      const auto& eo = err->get_object();
      std::string node;
      if (const auto* n = get_member(eo, "node"); n && n->is_object())
        node = std::string(get_string(n->get_object(), "name").value_or(""));
      errors.push_back(json::object{{"node", node}, {"message", get_string(eo, "message").value_or("error")}});
    }
    if (const auto* run = get_member(result, "runData"); run && run->is_object()) {
      for (const auto& kv : run->get_object()) {
        if (!kv.value().is_array())
          continue;
        for (const auto& task : kv.value().get_array()) {
          if (!task.is_object())
            continue;
          if (const auto* err = get_member(task.get_object(), "error"); err && err->is_object() && errors.empty())
            errors.push_back(json::object{{"node", kv.key()},
                                          {"message", get_string(err->get_object(), "message").value_or("error")}});
        }
      }
      if (const auto* tasks = run->get_object().if_contains(last); tasks && tasks->is_array() && !tasks->get_array().empty())
        if (const auto* main = find_path(tasks->get_array().back(), "data.main"); main && main->is_array())
          for (const auto& branch : main->get_array())
            if (branch.is_array())
              for (const auto& item : branch.get_array())
                if (item.is_object())
                  if (const auto* j = get_member(item.get_object(), "json"))
                    output.push_back(*j);
    }
  }
  r["last_node"] = last;
  r["output"] = std::move(output);
  r["errors"] = std::move(errors);
  return r;
}

struct test_run {
  op_ptr op;
  json::object workflow;  ///< from the internal API (what the editor would run)
  std::string workflow_id;
  std::string workflow_name;
  std::string trigger;
  bool webhook_trigger = false;
  json::array scenarios;  ///< [{name, input, expected_output?}]
  json::array results;
  std::size_t next = 0;
  chr::milliseconds timeout{60000};
  bool validate_output = false;
  json::value expect;
};

void run_scenario(const std::shared_ptr<test_run>& t);

void finish_test(const std::shared_ptr<test_run>& t) {
  auto& op = t->op;
  json::object data{{"workflow_id", t->workflow_id}, {"workflow_name", t->workflow_name}};
  bool ok = true;
  json::array errors;
  for (const auto& r : t->results) {
    const auto& ro = r.get_object();
    if (ro.at("test_status") != "success")
      ok = false;
    for (const auto& e : ro.at("errors").get_array())
      errors.push_back(e);
  }
  const auto& first = t->results.front().get_object();
  for (auto key : {"execution_id", "status", "duration_ms", "last_node", "output"})
    if (first.contains(key))
      data[key] = first.at(key);
  data["test_status"] = ok ? "success" : "failed";
  data["errors"] = errors;
  data["scenarios"] = t->results;
  if (ok) {
    op->succeed(std::move(data));
    return;
  }
  std::string message = errors.empty() ? "an expectation was not met"
                                       : std::string(errors.front().at("message").as_string());
  auto err = make_error(error_code::tool_execution_failed, "n8n workflow " + t->workflow_name + " failed its test: " + message,
                        std::move(data));
  op->fail(std::move(err));
}

void poll_execution(const std::shared_ptr<test_run>& t, std::string execution_id, json::object scenario,
                    chr::steady_clock::time_point deadline) {
  auto& op = t->op;
  op->api("GET", "/executions/" + url_encode(execution_id) + "?includeData=true", std::nullopt,
          [t, execution_id, scenario, deadline](int status, json::value v) {
            auto& run_op = t->op;
            std::string state;
            bool finished = false;
            if (status == 200 && v.is_object()) {
              state = std::string(get_string(v.get_object(), "status").value_or(""));
              if (const auto* f = get_member(v.get_object(), "finished"); f && f->is_bool())
                finished = f->get_bool();
            }
            bool done = finished || state == "success" || state == "error" || state == "crashed" || state == "canceled";
            if (!done) {
              if (chr::steady_clock::now() >= deadline) {
                run_op->fail(make_error(error_code::timeout,
                                    "n8n workflow " + t->workflow_name + " was still running after its test timeout",
                                    json::object{{"execution_id", execution_id},
                                                 {"timeout_seconds", t->timeout.count() / 1000}}));
                return;
              }
              run_op->timer().expires_after(chr::milliseconds(run_op->im()->settings.poll_interval_ms));
              run_op->timer().async_wait([t, execution_id, scenario, deadline](boost::system::error_code ec) {
                if (!ec && !t->op->over())
                  poll_execution(t, execution_id, scenario, deadline);
              });
              return;
            }
            auto r = read_execution(v);
            r["name"] = scenario.contains("name") ? scenario.at("name") : json::value("default");
            bool ok = r.at("status") == "success";
            // Expectations: `expect` on the first output item; expected_output when asked.
            const json::value* expected = nullptr;
            if (!t->expect.is_null())
              expected = &t->expect;
            if (t->validate_output)
              if (const auto* eo = scenario.if_contains("expected_output"))
                expected = eo;
            if (ok && expected) {
              const auto& out = r.at("output").as_array();
              if (out.empty() || !contains_subset(out.front(), *expected)) {
                ok = false;
                r["errors"].as_array().push_back(
                  json::object{{"node", r.at("last_node")},
                               {"message", "the output does not match the expectation"},
                               {"expected", *expected},
                               {"actual", out.empty() ? json::value(nullptr) : out.front()}});
              }
            }
            r["test_status"] = ok ? "success" : "failed";
            t->results.push_back(std::move(r));
            run_scenario(t);
          },
          {404});
}

void run_scenario(const std::shared_ptr<test_run>& t) {
  if (t->next >= t->scenarios.size()) {
    finish_test(t);
    return;
  }
  auto scenario = t->scenarios[t->next++].as_object();
  json::value input = scenario.contains("input") ? scenario.at("input") : json::value(json::object{});
  json::object item_json;
  if (t->webhook_trigger)
    item_json = json::object{{"headers", json::object{}}, {"params", json::object{}}, {"query", json::object{}}, {"body", input}};
  else if (input.is_object())
    item_json = input.get_object();
  else
    item_json = json::object{{"value", input}};
  auto wf = t->workflow;
  wf["pinData"] = json::object{{t->trigger, json::array{json::object{{"json", std::move(item_json)}}}}};
  json::object body{{"workflowData", std::move(wf)}, {"triggerToStartFrom", json::object{{"name", t->trigger}}}};
  t->op->rest("POST", "/workflows/" + url_encode(t->workflow_id) + "/run", json::value(std::move(body)),
              [t, scenario](int status, json::value v) {
                std::string execution;
                if (const auto* id = find_path(v, "data.executionId"); id && id->is_string())
                  execution = std::string(id->get_string());
                if (status != 200 || execution.empty()) {
                  t->op->fail(make_error(error_code::protocol_error, "n8n did not start the test run",
                                         json::object{{"status", status}, {"body", json::serialize(v).substr(0, 1024)}}));
                  return;
                }
                poll_execution(t, execution, scenario, chr::steady_clock::now() + t->timeout);
              });
}

void test_workflow(const op_ptr& op) {
  const auto& p = op->payload();
  auto t = std::make_shared<test_run>();
  t->op = op;
  if (const auto* s = get_member(p, "timeout_seconds"); s && s->is_int64())
    t->timeout = chr::seconds(std::clamp<std::int64_t>(s->get_int64(), 1, 300));
  if (const auto* v = get_member(p, "validate_output"); v && v->is_bool())
    t->validate_output = v->get_bool();
  if (const auto* e = get_member(p, "expect"); e && e->is_object())
    t->expect = *e;
  if (const auto* s = get_member(p, "test_scenarios"); s && s->is_array() && !s->get_array().empty())
    t->scenarios = s->get_array();
  else
    t->scenarios.push_back(json::object{
      {"name", "default"}, {"input", p.contains("test_data") ? p.at("test_data") : json::value(json::object{})}});
  std::string id(get_string(p, "workflow_id").value_or(""));
  std::string name(get_string(p, "workflow_name").value_or(""));
  find_workflow(op, id, name, [t, id, name](json::value found) {
    if (!found.is_object()) {
      t->op->fail(make_error(error_code::not_found, "no workflow " + (id.empty() ? name : id) + " to test",
                          json::object{{"workflow_id", id}, {"workflow_name", name}}));
      return;
    }
    t->workflow_id = std::string(get_string(found.get_object(), "id").value_or(""));
    t->workflow_name = std::string(get_string(found.get_object(), "name").value_or(name));
    t->op->rest("GET", "/workflows/" + url_encode(t->workflow_id), std::nullopt, [t](int, json::value v) {
      const auto* data = find_path(v, "data");
      if (!data || !data->is_object()) {
        t->op->fail(make_error(error_code::protocol_error, "n8n's internal API answered without the workflow"));
        return;
      }
      t->workflow = data->get_object();
      const auto* trigger = trigger_node(t->workflow);
      if (!trigger) {
        t->op->fail(make_error(error_code::tool_execution_failed, "workflow " + t->workflow_name + " has no node to start from",
                               json::object{{"workflow_id", t->workflow_id}}));
        return;
      }
      t->trigger = std::string(get_string(*trigger, "name").value_or(""));
      t->webhook_trigger = get_string(*trigger, "type").value_or("").ends_with(".webhook");
      run_scenario(t);
    });
  });
}

// -- workflow_promote -------------------------------------------------------------------------------

void promote(const op_ptr& op, const n8n_instance_settings* target) {
  const auto& p = op->payload();
  std::string id(get_string(p, "workflow_id").value_or(""));
  std::string name(get_string(p, "workflow_name").value_or(""));
  std::string from(get_string(p, "from").value_or("sandbox"));
  std::string to(get_string(p, "to").value_or("production"));
  auto flag = [&p](std::string_view key, bool dflt) {
    const auto* v = get_member(p, key);
    return v && v->is_bool() ? v->get_bool() : dflt;
  };
  bool activate = flag("activate_immediately", false) && target->allow_activation;
  bool backup_existing = flag("backup_existing", true);
  bool rollback = flag("rollback_on_error", true);
  const auto* source = &op->inst();
  find_workflow(op, id, name, [op, source, target, name, from, to, activate, backup_existing, rollback](json::value wf) {
    if (!wf.is_object()) {
      op->fail(make_error(error_code::not_found, "no workflow " + name + " in " + from + " to promote",
                          json::object{{"workflow_name", name}, {"from", from}}));
      return;
    }
    const auto& w = wf.get_object();
    std::string sid(get_string(w, "id").value_or(""));
    std::string wname(get_string(w, "name").value_or(name));
    json::object source_info{{"instance", source->name}, {"workflow_id", sid}, {"environment", from}};
    if (source == target) {
      // One instance serves both: the promotion is the production tag (and activation if allowed).
      std::vector<std::string> tags;
      for (const auto& t : tag_names(wf))
        tags.emplace_back(t.as_string());
      if (std::find(tags.begin(), tags.end(), target->production_tag) == tags.end())
        tags.push_back(target->production_tag);
      bool was_active = w.contains("active") && w.at("active").is_bool() && w.at("active").as_bool();
      ensure_tags(op, tags, [op, sid, wname, source_info, to, activate, was_active](json::array ids) {
        op->api("PUT", "/workflows/" + url_encode(sid) + "/tags", json::value(std::move(ids)),
                [op, sid, wname, source_info, to, activate, was_active](int, json::value set) {
                  set_active(op, sid, was_active, activate || was_active, [op, sid, wname, source_info, to, set](bool now) {
                    json::array names;
                    if (set.is_array())
                      for (const auto& t : set.get_array())
                        if (t.is_object())
                          names.emplace_back(get_string(t.get_object(), "name").value_or(""));
                    op->succeed(json::object{{"status", "promoted"},
                                             {"mode", "tag"},
                                             {"workflow_name", wname},
                                             {"source", source_info},
                                             {"target", json::object{{"instance", op->inst().name},
                                                                     {"workflow_id", sid},
                                                                     {"environment", to}}},
                                             {"tags", std::move(names)},
                                             {"active", now}});
                  });
                });
      });
      return;
    }
    // Another instance: copy (create or update by name), tags, then activation if allowed.
    auto body = workflow_body(wname, w);
    std::vector<std::string> tags;
    for (const auto& t : tag_names(wf))
      tags.emplace_back(t.as_string());
    tags.push_back(target->production_tag);
    op->switch_instance(target);
    find_workflow(op, "", wname, [op, body, tags, wname, source_info, to, activate, backup_existing, rollback](json::value existing) {
      bool exists = existing.is_object();
      json::value backup = nullptr;
      if (exists && backup_existing)
        backup = existing;
      auto after_write = [op, tags, wname, source_info, to, activate, exists, backup, rollback](int, json::value written) {
        std::string tid(get_string(written.get_object(), "id").value_or(""));
        ensure_tags(op, tags, [op, tid, wname, source_info, to, activate, exists, backup, rollback](json::array ids) {
          op->api("PUT", "/workflows/" + url_encode(tid) + "/tags", json::value(std::move(ids)),
                  [op, tid, wname, source_info, to, activate, exists, backup, rollback](int, json::value) {
                    auto finish = [op, tid, wname, source_info, to, exists, backup](bool now) {
                      json::object data{{"status", "promoted"},
                                        {"mode", "copy"},
                                        {"workflow_name", wname},
                                        {"source", source_info},
                                        {"target", json::object{{"instance", op->inst().name},
                                                                {"workflow_id", tid},
                                                                {"environment", to},
                                                                {"action", exists ? "updated" : "created"}}},
                                        {"active", now}};
                      if (!backup.is_null())
                        data["backup"] = json::object{{"workflow_id", get_string(backup.get_object(), "id").value_or("")},
                                                      {"updated_at", get_string(backup.get_object(), "updatedAt").value_or("")},
                                                      {"node_count", node_count(backup)},
                                                      {"workflow", backup}};
                      op->succeed(std::move(data));
                    };
                    if (!activate) {
                      finish(false);
                      return;
                    }
                    // Activation failures roll the copy back (the previous version, or nothing).
                    op->api(
                      "POST", "/workflows/" + url_encode(tid) + "/activate", std::nullopt,
                      [op, tid, finish, backup, rollback, exists](int status, json::value v) {
                        if (status >= 200 && status < 300) {
                          finish(true);
                          return;
                        }
                        auto reason = json::serialize(v).substr(0, 512);
                        auto fail = [op, status, reason, tid](std::string undone) {
                          op->fail(make_error(error_code::tool_execution_failed,
                                              "n8n refused to activate the promoted workflow",
                                              json::object{{"status", status}, {"body", reason},
                                                           {"workflow_id", tid}, {"rollback", undone}}));
                        };
                        if (!rollback) {
                          fail("none");
                        } else if (exists && !backup.is_null()) {
                          op->api("PUT", "/workflows/" + url_encode(tid),
                                  json::value(workflow_body(std::string(get_string(backup.get_object(), "name").value_or("")),
                                                            backup.get_object())),
                                  [fail](int, json::value) { fail("restored the previous version"); });
                        } else if (!exists) {
                          op->api("DELETE", "/workflows/" + url_encode(tid), std::nullopt,
                                  [fail](int, json::value) { fail("deleted the copy"); });
                        } else {
                          fail("none (no backup)");
                        }
                      },
                      {400, 409, 422, 500});
                  });
        });
      };
      if (exists)
        op->api("PUT", "/workflows/" + url_encode(std::string(get_string(existing.get_object(), "id").value_or(""))),
                json::value(body), after_write);
      else
        op->api("POST", "/workflows", json::value(body), after_write);
    });
  });
}

// -- workflow_design ---------------------------------------------------------------------------------

json::object node(std::string id, std::string name, std::string type, double version, int x, json::object parameters) {
  return json::object{{"id", std::move(id)},   {"name", std::move(name)}, {"type", std::move(type)},
                      {"typeVersion", version}, {"position", json::array{x, 0}}, {"parameters", std::move(parameters)}};
}

std::string node_id(int i) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "0b9e5b1c-0000-4000-8000-%012d", i);
  return buf;
}

} // namespace

json::object n8n_connector::template_design(const json::object& p, int max_nodes) {
  std::string goal(get_string(p, "goal").value_or(get_string(p, "description").value_or("workflow")));
  std::string name(get_string(p, "workflow_name").value_or(""));
  if (name.empty())
    name = "AUTO_PROLEX_" + slug(goal);
  std::string trigger(get_string(p, "trigger_type").value_or("webhook"));
  json::array nodes;
  json::object connections;
  json::array notes;
  std::string previous;
  int x = 0;
  auto link = [&](const std::string& from, const std::string& to) {
    connections[from] = json::object{
      {"main", json::array{json::array{json::object{{"node", to}, {"type", "main"}, {"index", 0}}}}}};
  };
  if (trigger == "schedule") {
    nodes.push_back(node(node_id(1), "Schedule", "n8n-nodes-base.scheduleTrigger", 1.2, x,
                         json::object{{"rule", json::object{{"interval", json::array{json::object{{"field", "hours"}}}}}}}));
    previous = "Schedule";
  } else if (trigger == "webhook") {
    auto path = slug(name);
    auto wh = node(node_id(1), "Webhook", "n8n-nodes-base.webhook", 2, x,
                   json::object{{"httpMethod", "POST"}, {"path", path}, {"responseMode", "lastNode"}, {"options", json::object{}}});
    wh["webhookId"] = node_id(101);
    nodes.push_back(std::move(wh));
    previous = "Webhook";
  } else {
    if (trigger != "manual")
      notes.emplace_back("trigger " + trigger + " has no template: a manual trigger stands in");
    nodes.push_back(node(node_id(1), "Manual", "n8n-nodes-base.manualTrigger", 1, x, json::object{}));
    previous = "Manual";
  }
  std::vector<std::string> actions;
  if (const auto* steps = get_member(p, "steps"); steps && steps->is_array())
    for (const auto& s : steps->get_array())
      if (s.is_object())
        if (auto a = get_string(s.get_object(), "action"))
          actions.emplace_back(*a);
  if (actions.empty())
    actions.push_back(goal);
  int room = std::max(1, max_nodes - 1);
  if (static_cast<int>(actions.size()) > room) {
    notes.emplace_back(std::to_string(actions.size() - room) + " step(s) merged to respect max_nodes " + std::to_string(max_nodes));
    std::string merged;
    for (std::size_t i = room - 1; i < actions.size(); ++i)
      merged += (merged.empty() ? "" : "; ") + actions[i];
    actions.resize(room - 1);
    actions.push_back(merged);
  }
  for (std::size_t i = 0; i < actions.size(); ++i) {
    x += 220;
    auto n = "Step " + std::to_string(i + 1);
    json::object params{
      {"mode", "manual"},
      {"includeOtherFields", true},
      {"assignments", json::object{{"assignments", json::array{json::object{{"id", "s" + std::to_string(i + 1)},
                                                                            {"name", "step_" + std::to_string(i + 1)},
                                                                            {"type", "string"},
                                                                            {"value", actions[i]}}}}}},
      {"options", json::object{}}};
    nodes.push_back(node(node_id(static_cast<int>(i) + 2), n, "n8n-nodes-base.set", 3.4, x, std::move(params)));
    link(previous, n);
    previous = n;
  }
  json::object spec{{"name", name}, {"nodes", std::move(nodes)}, {"connections", std::move(connections)},
                    {"settings", json::object{{"executionOrder", "v1"}}}};
  auto count = static_cast<std::int64_t>(spec.at("nodes").as_array().size());
  return json::object{{"spec", std::move(spec)},
                      {"workflow_name", name},
                      {"node_count", count},
                      {"designed_by", "template"},
                      {"credentials_used", json::array{}},
                      {"notes", std::move(notes)}};
}

std::vector<std::string> n8n_connector::check_design(const json::object& spec, int max_nodes,
                                                     const std::vector<std::string>& credential_ids) {
  std::vector<std::string> problems;
  const auto* nodes = get_member(spec, "nodes");
  if (!nodes || !nodes->is_array() || nodes->get_array().empty()) {
    problems.emplace_back("nodes must be a non-empty list");
    return problems;
  }
  if (static_cast<int>(nodes->get_array().size()) > max_nodes)
    problems.push_back(std::to_string(nodes->get_array().size()) + " nodes, more than max_nodes " + std::to_string(max_nodes));
  std::set<std::string> names;
  for (const auto& n : nodes->get_array()) {
    if (!n.is_object()) {
      problems.emplace_back("a node is not an object");
      continue;
    }
    const auto& o = n.get_object();
    auto name = get_string(o, "name");
    auto type = get_string(o, "type");
    if (!name || name->empty())
      problems.emplace_back("a node has no name");
    else if (!names.insert(std::string(*name)).second)
      problems.push_back("two nodes are named " + std::string(*name));
    if (!type || (!type->starts_with("n8n-nodes-base.") && !type->starts_with("@n8n/")))
      problems.push_back("node " + std::string(name.value_or("?")) + " has no n8n node type");
    if (const auto* v = get_member(o, "typeVersion"); !v || !v->is_number())
      problems.push_back("node " + std::string(name.value_or("?")) + " has no typeVersion");
    if (const auto* pos = get_member(o, "position"); !pos || !pos->is_array() || pos->get_array().size() != 2)
      problems.push_back("node " + std::string(name.value_or("?")) + " has no position [x, y]");
    if (const auto* params = get_member(o, "parameters"); !params || !params->is_object())
      problems.push_back("node " + std::string(name.value_or("?")) + " has no parameters object");
    if (const auto* creds = get_member(o, "credentials"); creds && creds->is_object())
      for (const auto& c : creds->get_object()) {
        std::string id = c.value().is_object() ? std::string(get_string(c.value().get_object(), "id").value_or("")) : "";
        if (std::find(credential_ids.begin(), credential_ids.end(), id) == credential_ids.end())
          problems.push_back("node " + std::string(name.value_or("?")) + " uses credential " + std::string(c.key())
                             + " that does not exist on the instance");
      }
  }
  if (const auto* c = get_member(spec, "connections"); c && c->is_object()) {
    for (const auto& from : c->get_object()) {
      if (!names.contains(std::string(from.key())))
        problems.push_back("connections start from unknown node " + std::string(from.key()));
      if (!from.value().is_object())
        continue;
      for (const auto& kind : from.value().get_object())
        if (kind.value().is_array())
          for (const auto& outputs : kind.value().get_array())
            if (outputs.is_array())
              for (const auto& l : outputs.get_array())
                if (l.is_object())
                  if (auto to = get_string(l.get_object(), "node"); to && !names.contains(std::string(*to)))
                    problems.push_back("connections lead to unknown node " + std::string(*to));
    }
  } else {
    problems.emplace_back("connections must be an object");
  }
  return problems;
}

namespace {

void design(const op_ptr& op, int max_nodes) {
  const auto& p = op->payload();
  auto templ = n8n_connector::template_design(p, max_nodes);
  auto& im = *op->im();
  if (!im.llm || !im.llm->settings().find(im.design_llm)) {
    op->succeed(std::move(templ));
    return;
  }
  // Credentials the design may use: the instance's (internal API), or none without a login.
  auto with_credentials = [op, max_nodes, templ](std::vector<std::string> ids, json::array listed) {
    auto& st = *op->im();
    connectors::llm_request r;
    r.system =
      "You design n8n 1.x workflows. Answer with ONE bare JSON object (no prose, no Markdown, no code fence): "
      "{\"name\": string, \"nodes\": [{\"id\", \"name\", \"type\" (n8n-nodes-base.*), \"typeVersion\", \"position\": [x, y], "
      "\"parameters\": {...}, \"credentials\"?: {type: {\"id\", \"name\"}}}], \"connections\": {from node name: {\"main\": "
      "[[{\"node\": to node name, \"type\": \"main\", \"index\": 0}]]}}, \"settings\": {\"executionOrder\": \"v1\"}}. At most "
      + std::to_string(max_nodes) + " nodes. Use only these existing credentials: " + json::serialize(listed)
      + ". Name the workflow " + std::string(templ.at("workflow_name").as_string()) + ".";
    r.messages.push_back({"user", "Design request: " + json::serialize(op->payload())});
    st.llm->complete(st.design_llm, r, [op, max_nodes, ids, templ](result<llm_response> answer) mutable {
      asio::post(op->im()->io, [op, max_nodes, ids, templ, answer = std::move(answer)]() mutable {
        if (op->over())
          return;
        json::array notes = templ.at("notes").as_array();
        if (!answer) {
          notes.emplace_back("the model was not used (" + answer.error().message + "): template design");
          templ["notes"] = std::move(notes);
          op->succeed(std::move(templ));
          return;
        }
        auto parsed = parse_json(answer->text);
        std::vector<std::string> problems;
        if (!parsed || !parsed->is_object())
          problems.emplace_back("the model's design is not one JSON object");
        else
          problems = n8n_connector::check_design(parsed->get_object(), max_nodes, ids);
        if (!problems.empty()) {
          std::string why;
          for (const auto& pr : problems)
            why += (why.empty() ? "" : "; ") + pr;
          notes.emplace_back("the model's design was refused (" + why + "): template design");
          templ["notes"] = std::move(notes);
          op->succeed(std::move(templ));
          return;
        }
        auto spec = std::move(parsed).value().as_object();
        spec["name"] = templ.at("workflow_name");
        if (!spec.contains("settings"))
          spec["settings"] = json::object{{"executionOrder", "v1"}};
        json::array used;
        for (const auto& n : spec.at("nodes").as_array())
          if (const auto* c = n.as_object().if_contains("credentials"); c && c->is_object())
            for (const auto& kv : c->as_object())
              if (kv.value().is_object())
                used.emplace_back(get_string(kv.value().as_object(), "id").value_or(""));
        auto count = static_cast<std::int64_t>(spec.at("nodes").as_array().size());
        op->succeed(json::object{{"spec", std::move(spec)},
                                 {"workflow_name", templ.at("workflow_name")},
                                 {"node_count", count},
                                 {"designed_by", "llm"},
                                 {"model", answer->model},
                                 {"usage", json::object{{"input_tokens", answer->usage.input_tokens},
                                                        {"output_tokens", answer->usage.output_tokens},
                                                        {"cost_usd", answer->usage.cost_usd}}},
                                 {"credentials_used", std::move(used)},
                                 {"notes", std::move(notes)}});
      });
    });
  };
  if (op->inst().owner_email.empty()) {
    with_credentials({}, {});
    return;
  }
  op->rest("GET", "/credentials", std::nullopt, [with_credentials](int, json::value v) {
    std::vector<std::string> ids;
    json::array listed;
    if (const auto* data = find_path(v, "data"); data && data->is_array())
      for (const auto& c : data->get_array())
        if (c.is_object()) {
          ids.emplace_back(get_string(c.get_object(), "id").value_or(""));
          listed.push_back(json::object{{"id", get_string(c.get_object(), "id").value_or("")},
                                        {"name", get_string(c.get_object(), "name").value_or("")},
                                        {"type", get_string(c.get_object(), "type").value_or("")}});
        }
    with_credentials(std::move(ids), std::move(listed));
  });
}

} // namespace

n8n_connector::n8n_connector(n8n_connector_options options) : impl_(std::make_shared<impl>()) {
  impl_->settings = std::move(options.settings);
  impl_->http = std::move(options.http);
  impl_->llm = std::move(options.llm);
  impl_->design_llm = std::move(options.design_llm);
  impl_->thread = std::thread([im = impl_.get()] { im->io.run(); });
}

n8n_connector::~n8n_connector() {
  // Operations still running hold the impl; stop the thread first so none outlives it.
  impl_->work.reset();
  impl_->io.stop();
  if (impl_->thread.joinable())
    impl_->thread.join();
}

std::string n8n_connector::breaker_key(const tool_definition& /*tool*/) const {
  const auto* inst = impl_->settings.for_environment("sandbox");
  return "n8n:" + (inst ? inst->name : std::string("none"));
}

cancel_handle n8n_connector::call(const tool_definition& tool, const json::object& payload, const call_context& ctx,
                                  call_completion done) {
  std::string operation = tool.target.text("operation", n8n_operation_for(tool.id));
  static const std::set<std::string, std::less<>> known{"list_workflows", "workflow_upsert", "workflow_test",
                                                         "workflow_promote", "workflow_design"};
  if (!known.contains(operation)) {
    call_outcome out;
    out.error = make_error(error_code::connector_unavailable, "unknown n8n operation " + operation,
                           json::object{{"tool", tool.id}, {"operation", operation}});
    done(std::move(out));
    return {};
  }
  auto env = environment_of(operation, payload);
  const auto* inst = impl_->settings.for_environment(env);
  const n8n_instance_settings* target = nullptr;
  if (operation == "workflow_promote")
    target = impl_->settings.for_environment(std::string(get_string(payload, "to").value_or("production")));
  if (inst == nullptr || (operation == "workflow_promote" && target == nullptr)) {
    call_outcome out;
    out.error = make_error(error_code::connector_unavailable, "no n8n instance serves " + env,
                           json::object{{"tool", tool.id}, {"environment", env}});
    done(std::move(out));
    return {};
  }
  int max_nodes = impl_->settings.design_max_nodes;
  if (const auto* m = find_path(json::value(payload), "constraints.max_nodes"); m && m->is_int64())
    max_nodes = static_cast<int>(m->get_int64());
  auto op = std::make_shared<n8n_op>(impl_, inst, operation, payload, ctx, std::move(done));
  asio::post(impl_->io, [op, target, max_nodes] {
    const auto& o = op->operation();
    if (o == "list_workflows")
      list_workflows(op);
    else if (o == "workflow_upsert")
      upsert(op);
    else if (o == "workflow_test")
      test_workflow(op);
    else if (o == "workflow_promote")
      promote(op, target);
    else
      design(op, max_nodes);
  });
  std::weak_ptr<impl> weak = impl_;
  return [weak, op] {
    if (auto im = weak.lock())
      asio::post(im->io, [op] { op->cancel(); });
  };
}

} // namespace opex::connectors
