// One MCP server's session (mcp_connector.cpp routes calls to it): its lifecycle (idle, starting,
// ready, restarting, failed, stopped), pending requests with their timeouts, the tool list and the
// server log. Everything runs on the connector's single I/O thread, so a session needs no locks
// (only its status snapshot has one). Internal to the connector.
#pragma once

#include "opex/connectors/mcp_connector.hpp"

#include "mcp_transport.hpp"

#include "opex/clock.hpp"
#include "opex/json_util.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/serialize.hpp>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include <pthread.h>
#include <signal.h>

namespace opex::connectors::mcp_detail {

namespace asio = boost::asio;
namespace json = boost::json;
namespace chr = std::chrono;

/// Appends a server's stderr and log notifications to <dir>/mcp-<server>.log.
class server_log {
public:
  server_log(std::string dir, std::string server) : dir_(std::move(dir)), server_(std::move(server)) {}

  void write(std::string_view line) {
    if (dir_.empty())
      return;
    if (!out_.is_open()) {
      std::error_code ec;
      std::filesystem::create_directories(dir_, ec);
      out_.open(std::filesystem::path(dir_) / ("mcp-" + server_ + ".log"), std::ios::app);
      if (!out_)
        return;
    }
    out_ << format_timestamp(std::chrono::system_clock::now()) << ' ' << line << '\n';
    out_.flush();
  }

private:
  std::string dir_;
  std::string server_;
  std::ofstream out_;
};

using rpc_completion = std::function<void(error_info, json::value)>;

enum class session_state { idle, starting, ready, restarting, failed, stopped };

inline std::string_view state_name(session_state s) {
  switch (s) {
    case session_state::idle: return "idle";
    case session_state::starting: return "starting";
    case session_state::ready: return "ready";
    case session_state::restarting: return "restarting";
    case session_state::failed: return "failed";
    case session_state::stopped: return "stopped";
  }
  return "idle";
}

/// One server: its transport, its lifecycle and its requests in flight.
class session : public std::enable_shared_from_this<session> {
public:
  session(asio::io_context& io, std::shared_ptr<mcp::io_gate> gate, mcp_server_settings settings, std::string version,
          std::shared_ptr<http_client> http, std::string log_dir)
    : io_(io), gate_(std::move(gate)), settings_(std::move(settings)), version_(std::move(version)), http_(std::move(http)),
      log_(std::move(log_dir), settings_.name), restart_timer_(io) {}

  /// Request ids are taken on the caller's thread so that a cancel handle can name them.
  std::int64_t next_id() { return next_id_.fetch_add(1, std::memory_order_relaxed); }

  /// Sends `method` once the session is ready (starting it when idle). I/O thread.
  void request(std::int64_t id, std::string method, json::object params, chr::milliseconds timeout,
               rpc_completion done) {
    switch (state_) {
      case session_state::stopped:
        done(make_error(error_code::cancelled, "the MCP connector is shutting down",
                        json::object{{"server", settings_.name}}),
             nullptr);
        return;
      case session_state::failed:
        done(make_error(error_code::connector_unavailable,
                        "MCP server " + settings_.name + " gave up after " + std::to_string(failures_) + " failures",
                        json::object{{"server", settings_.name}, {"last_error", last_error_json()}}),
             nullptr);
        return;
      case session_state::restarting: {
        auto left = chr::duration_cast<chr::milliseconds>(restart_timer_.expiry() - chr::steady_clock::now());
        done(make_error(error_code::connection_failed, "MCP server " + settings_.name + " is restarting",
                        json::object{{"server", settings_.name},
                                     {"reason", "restarting"},
                                     {"retry_after_ms", std::max<std::int64_t>(0, left.count())},
                                     {"last_error", last_error_json()}}),
             nullptr);
        return;
      }
      default: break;
    }
    auto& p = add_pending(id, std::move(method), std::move(params), timeout, std::move(done), false);
    if (state_ == session_state::idle)
      start();
    else if (state_ == session_state::ready)
      send_pending(id, p);
  }

  /// Abandons request `id` (the caller's cancel handle). I/O thread.
  void cancel(std::int64_t id) { finish_with(id, make_error(error_code::cancelled, "the call was cancelled"), "cancelled"); }

  /// Stops the server for good. I/O thread.
  void shutdown() {
    auto err = make_error(error_code::cancelled, "the MCP connector is shutting down",
                          json::object{{"server", settings_.name}});
    set_state(session_state::stopped);
    restart_timer_.cancel();
    close_transport();
    fail_all(err);
  }

  json::object status() const {
    std::lock_guard lock(status_m_);
    return status_;
  }

  /// The cached tool list, when the session is ready and no refresh is under way. I/O thread.
  std::optional<std::vector<mcp::tool_info>> cached_tools() const {
    if (state_ != session_state::ready || !tools_loaded_ || tools_listing_)
      return std::nullopt;
    return tools_;
  }

  const std::string& name() const { return settings_.name; }

private:
  struct pending_request {
    std::string method;
    json::object params;
    rpc_completion done;
    chr::milliseconds timeout{0};
    std::unique_ptr<asio::steady_timer> timer;
    bool sent = false;
    bool resent = false;
    bool internal = false;
  };

  asio::io_context& io_;
  std::shared_ptr<mcp::io_gate> gate_;
  mcp_server_settings settings_;
  std::string version_;
  std::shared_ptr<http_client> http_;
  server_log log_;
  asio::steady_timer restart_timer_;
  std::shared_ptr<mcp::transport> transport_;
  std::map<std::int64_t, pending_request> pending_;
  std::atomic<std::int64_t> next_id_{1};
  session_state state_ = session_state::idle;
  int failures_ = 0;  ///< consecutive failures: the restart backoff's exponent
  int restarts_ = 0;  ///< restarts scheduled since the connector started
  std::string negotiated_;
  json::object server_info_;
  std::vector<mcp::tool_info> tools_;
  bool tools_loaded_ = false;  ///< a whole list arrived since the session became ready
  std::vector<mcp::tool_info> tools_paging_;
  bool tools_refresh_again_ = false;
  bool tools_listing_ = false;
  error_info last_error_;
  mutable std::mutex status_m_;
  json::object status_;

  json::value last_error_json() const {
    if (!last_error_)
      return nullptr;
    return json::object{{"error_code", error_code_name(last_error_.code)}, {"error", last_error_.message},
                        {"details", last_error_.details}};
  }

  void set_state(session_state s) {
    state_ = s;
    publish();
  }

  void publish() {
    json::object st{{"server", settings_.name},
                    {"transport", settings_.transport},
                    {"state", state_name(state_)},
                    {"pid", transport_ ? transport_->pid() : 0},
                    {"restarts", restarts_},
                    {"consecutive_failures", failures_},
                    {"protocol_version", negotiated_},
                    {"server_info", server_info_},
                    {"tools", static_cast<std::int64_t>(tools_.size())},
                    {"last_error", last_error_json()}};
    std::lock_guard lock(status_m_);
    status_ = std::move(st);
  }

  /// Registers request `id` with its completion and arms its timeout.
  pending_request& add_pending(std::int64_t id, std::string method, json::object params, chr::milliseconds timeout,
                               rpc_completion done, bool internal) {
    auto& p = pending_[id];
    p.method = std::move(method);
    p.params = std::move(params);
    p.done = std::move(done);
    p.timeout = timeout;
    p.internal = internal;
    p.timer = std::make_unique<asio::steady_timer>(io_, timeout);
    p.timer->async_wait([weak = weak_from_this(), id](boost::system::error_code ec) {
      if (auto self = weak.lock(); self && !ec)
        self->timed_out(id);
    });
    return p;
  }

  void send_pending(std::int64_t id, pending_request& p) {
    p.sent = true;
    transport_->send(mcp::make_request(id, p.method, p.params), id, p.timeout);
  }

  /// Completes request `id` with an error, telling the server when it had been sent.
  void finish_with(std::int64_t id, error_info err, std::string_view reason) {
    auto it = pending_.find(id);
    if (it == pending_.end())
      return;
    auto p = std::move(it->second);
    pending_.erase(it);
    if (p.timer)
      p.timer->cancel();
    if (p.sent && transport_ && state_ == session_state::ready) {
      transport_->send(mcp::make_notification("notifications/cancelled",
                                              json::object{{"requestId", id}, {"reason", reason}}),
                       std::nullopt, chr::milliseconds(5000));
      transport_->abandon(id);
    }
    p.done(std::move(err), nullptr);
  }

  void timed_out(std::int64_t id) {
    auto it = pending_.find(id);
    if (it == pending_.end())
      return;
    json::object details{{"server", settings_.name},
                         {"method", it->second.method},
                         {"timeout_ms", it->second.timeout.count()}};
    if (auto n = get_string(it->second.params, "name"))
      details["tool"] = *n;
    finish_with(id,
                make_error(error_code::timeout,
                           "MCP server " + settings_.name + " did not answer " + it->second.method + " in time",
                           std::move(details)),
                "timeout");
  }

  /// Fails every request in flight or waiting.
  void fail_all(const error_info& err) {
    std::vector<std::int64_t> ids;
    for (auto& [id, p] : pending_)
      ids.push_back(id);
    for (auto id : ids) {
      auto it = pending_.find(id);
      if (it == pending_.end())
        continue;
      auto p = std::move(it->second);
      pending_.erase(it);
      if (p.timer)
        p.timer->cancel();
      p.done(err, nullptr);
    }
  }

  void close_transport() {
    if (!transport_)
      return;
    auto t = std::move(transport_);
    t->close();
  }

  void start() {
    set_state(session_state::starting);
    auto weak = weak_from_this();
    transport_ = settings_.transport == "streamable_http" ? mcp::make_http_transport(gate_, settings_, http_)
                                                          : mcp::make_stdio_transport(io_, settings_);
    mcp::transport_handlers h;
    auto* owner = transport_.get();
    h.on_message = [weak, owner](json::value m) {
      if (auto self = weak.lock(); self && self->transport_.get() == owner)
        self->on_message(std::move(m));
    };
    h.on_closed = [weak, owner](error_info err) {
      if (auto self = weak.lock(); self && self->transport_.get() == owner)
        self->on_failure(std::move(err));
    };
    h.on_send_failed = [weak, owner](std::int64_t id, error_info err) {
      if (auto self = weak.lock(); self && self->transport_.get() == owner)
        self->on_send_failed(id, std::move(err));
    };
    h.on_log = [weak](std::string line) {
      if (auto self = weak.lock())
        self->log_.write(line);
    };
    if (auto err = transport_->start(std::move(h))) {
      log_.write("start failed: " + err.message);
      on_failure(std::move(err));
      return;
    }
    log_.write("started (" + settings_.transport + (transport_->pid() ? ", pid " + std::to_string(transport_->pid()) : "")
               + ")");
    publish();
    auto id = next_id();
    auto& p = add_pending(id, "initialize", mcp::initialize_params(version_),
                          chr::milliseconds(settings_.startup_timeout_ms),
                          [weak](error_info err, json::value result) {
                            if (auto self = weak.lock())
                              self->initialized(std::move(err), std::move(result));
                          },
                          true);
    send_pending(id, p);
  }

  void initialized(error_info err, json::value result) {
    if (state_ != session_state::starting)
      return;
    if (err) {
      if (err.code == error_code::cancelled)
        return;
      err.details["stage"] = "initialize";
      on_failure(std::move(err));
      return;
    }
    std::string version;
    if (result.is_object())
      version = std::string(get_string(result.get_object(), "protocolVersion").value_or(""));
    if (!mcp::is_supported_version(version)) {
      json::array supported;
      for (auto v : mcp::supported_versions)
        supported.emplace_back(v);
      on_failure(make_error(error_code::connector_unavailable,
                            "MCP server " + settings_.name + " speaks protocol version " + version
                              + ", which opex does not support",
                            json::object{{"server", settings_.name}, {"stage", "initialize"},
                                         {"protocol_version", version}, {"supported", std::move(supported)}}));
      return;
    }
    negotiated_ = version;
    if (const auto* info = get_member(result.get_object(), "serverInfo"); info && info->is_object())
      server_info_ = info->get_object();
    transport_->set_protocol_version(version);
    transport_->send(mcp::make_notification("notifications/initialized"), std::nullopt,
                     chr::milliseconds(settings_.startup_timeout_ms));
    failures_ = 0;
    last_error_ = {};
    set_state(session_state::ready);
    log_.write("ready: protocol " + version + ", server " + json::serialize(server_info_));
    for (auto& [id, p] : pending_)
      if (!p.sent)
        send_pending(id, p);
    refresh_tools();
  }

  /// tools/list, every page; a list_changed during a refresh starts another one after it.
  void refresh_tools(std::string cursor = {}) {
    if (state_ != session_state::ready)
      return;
    if (cursor.empty()) {
      if (tools_listing_) {
        tools_refresh_again_ = true;
        return;
      }
      tools_listing_ = true;
      tools_paging_.clear();
    }
    json::object params;
    if (!cursor.empty())
      params["cursor"] = cursor;
    auto weak = weak_from_this();
    auto id = next_id();
    auto& p = add_pending(id, "tools/list", std::move(params), chr::milliseconds(settings_.startup_timeout_ms),
                          [weak](error_info err, json::value result) {
                            auto self = weak.lock();
                            if (!self)
                              return;
                            if (err) {
                              self->tools_listing_ = false;
                              self->log_.write("tools/list failed: " + err.message);
                              return;
                            }
                            std::string next;
                            auto page = mcp::parse_tools(result, next);
                            if (!page) {
                              self->tools_listing_ = false;
                              self->log_.write("tools/list: " + page.error().message);
                              return;
                            }
                            for (auto& t : *page)
                              self->tools_paging_.push_back(std::move(t));
                            if (!next.empty()) {
                              self->refresh_tools(next);
                              return;
                            }
                            self->tools_ = std::move(self->tools_paging_);
                            self->tools_paging_.clear();
                            self->tools_loaded_ = true;
                            self->tools_listing_ = false;
                            self->publish();
                            if (self->tools_refresh_again_) {
                              self->tools_refresh_again_ = false;
                              self->refresh_tools();
                            }
                          },
                          true);
    send_pending(id, p);
  }

  void on_message(json::value message) {
    auto m = mcp::classify(message);
    switch (m.kind) {
      case mcp::message_kind::invalid:
        log_.write("invalid JSON-RPC message ignored (" + m.problem + "): " + json::serialize(message).substr(0, 500));
        return;
      case mcp::message_kind::response: {
        auto it = pending_.find(mcp::response_id(m));
        if (it == pending_.end())
          return;  // answered after its timeout or cancellation
        auto p = std::move(it->second);
        pending_.erase(it);
        if (p.timer)
          p.timer->cancel();
        if (!m.error.empty()) {
          auto tool = get_string(p.params, "name").value_or(p.method);
          p.done(mcp::map_rpc_error(m.error, settings_.name, tool), nullptr);
        } else {
          p.done({}, std::move(m.result));
        }
        return;
      }
      case mcp::message_kind::request:
        // opex offers no client capabilities: only ping is answered.
        if (m.method == "ping")
          transport_->send(mcp::make_result(m.id, {}), std::nullopt, chr::milliseconds(5000));
        else
          transport_->send(mcp::make_error_response(m.id, -32601, "Method not found: " + m.method), std::nullopt,
                           chr::milliseconds(5000));
        return;
      case mcp::message_kind::notification:
        if (m.method == "notifications/tools/list_changed") {
          log_.write("tools/list_changed: refreshing the tool list");
          refresh_tools();
        } else if (m.method == "notifications/message") {
          log_.write("log " + std::string(get_string(m.params, "level").value_or("info")) + ": "
                     + (m.params.contains("data") ? json::serialize(m.params.at("data")) : std::string()));
        }
        return;
    }
  }

  void on_send_failed(std::int64_t id, error_info err) {
    auto it = pending_.find(id);
    if (it == pending_.end())
      return;
    bool expired = false;
    if (const auto* v = get_member(err.details, "session_expired"); v && v->is_bool())
      expired = v->get_bool();
    if (expired && !it->second.internal && !it->second.resent && state_ == session_state::ready) {
      // The server no longer knows the session: it never ran these requests. A new session,
      // then each is sent once more.
      log_.write("session expired: initializing a new one");
      for (auto& [pid, p] : pending_) {
        if (p.internal)
          continue;
        if (p.sent)
          p.resent = true;
        p.sent = false;
      }
      std::vector<std::int64_t> internal;
      for (auto& [pid, p] : pending_)
        if (p.internal)
          internal.push_back(pid);
      for (auto pid : internal)
        pending_.erase(pid);
      tools_listing_ = false;
      close_transport();
      start();
      return;
    }
    auto p = std::move(it->second);
    pending_.erase(it);
    if (p.timer)
      p.timer->cancel();
    p.done(std::move(err), nullptr);
  }

  /// The transport failed to start, to initialize, or died: fail what waits, then restart
  /// with backoff (or give up after maximum_restarts).
  void on_failure(error_info err) {
    if (state_ == session_state::stopped)
      return;
    err.details["server"] = settings_.name;
    last_error_ = err;
    log_.write("failure: " + err.message + " " + json::serialize(err.details));
    close_transport();
    bool crashed = state_ == session_state::ready;
    tools_listing_ = false;
    tools_loaded_ = false;
    ++failures_;
    if (settings_.restart.maximum_restarts > 0 && failures_ > settings_.restart.maximum_restarts) {
      set_state(session_state::failed);
      fail_all(err);
      return;
    }
    ++restarts_;
    auto delay = mcp::restart_delay(settings_.restart, failures_);
    set_state(session_state::restarting);
    fail_all(err);
    restart_timer_.expires_after(delay);
    restart_timer_.async_wait([weak = weak_from_this(), crashed](boost::system::error_code ec) {
      auto self = weak.lock();
      if (!self || ec || self->state_ != session_state::restarting)
        return;
      // A server that crashed while in use comes back at once; one that could not start waits
      // for the next call.
      if (crashed) {
        self->log_.write("restarting (restart " + std::to_string(self->restarts_) + ")");
        self->start();
      } else {
        self->set_state(session_state::idle);
      }
    });
  }
};

} // namespace opex::connectors::mcp_detail
