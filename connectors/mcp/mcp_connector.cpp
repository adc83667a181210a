// The connector that routes mcp_tool targets to their server's session (mcp_session.hpp). Every
// session lives on the connector's single I/O thread: requests, timers, transport events and
// restarts are handled there in order.
#include "opex/connectors/mcp_connector.hpp"

#include "mcp_session.hpp"

#include "opex/json_util.hpp"

namespace opex::connectors {

namespace asio = boost::asio;
namespace json = boost::json;
namespace chr = std::chrono;

using namespace mcp_detail;

struct mcp_connector::impl {
  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> work{io.get_executor()};
  std::shared_ptr<mcp::io_gate> gate = std::make_shared<mcp::io_gate>(io);
  std::map<std::string, std::shared_ptr<session>, std::less<>> sessions;
  std::thread thread;

  ~impl() {
    // Stop every server (stdin closed, then signals), then the thread.
    std::promise<void> stopped;
    auto done = stopped.get_future();
    asio::post(io, [this, &stopped] {
      for (auto& [name, s] : sessions)
        s->shutdown();
      stopped.set_value();
    });
    done.wait();
    work.reset();
    io.stop();
    if (thread.joinable())
      thread.join();
    gate->close();  // HTTP answers still in flight are dropped from here on
  }
};

mcp_connector::mcp_connector(mcp_connector_options options) : impl_(std::make_shared<impl>()) {
  for (auto& [name, s] : options.settings.servers)
    impl_->sessions.emplace(name, std::make_shared<session>(impl_->io, impl_->gate, s, options.settings.protocol_version,
                                                            options.http, options.log_dir));
  impl_->thread = std::thread([im = impl_.get()] {
    // A write to a dead server's stdin must fail with EPIPE, not kill the process.
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    im->io.run();
  });
}

mcp_connector::~mcp_connector() = default;

std::string mcp_connector::breaker_key(const tool_definition& tool) const {
  return "mcp:" + tool.target.text("server");
}

cancel_handle mcp_connector::call(const tool_definition& tool, const json::object& payload, const call_context& ctx,
                                  call_completion done) {
  auto name = tool.target.text("tool_name");
  if (name == "*") {  // an exposed server (mcp.servers.<name>.expose): {"tool", "arguments"}
    const auto* args = payload.if_contains("arguments");
    return call_tool(tool.target.text("server"), std::string(get_string(payload, "tool").value_or("")),
                     args && args->is_object() ? args->get_object() : json::object{}, ctx.timeout, std::move(done),
                     ctx.trace);
  }
  return call_tool(tool.target.text("server"), name, payload, ctx.timeout, std::move(done), ctx.trace);
}

cancel_handle mcp_connector::call_tool(const std::string& server, const std::string& tool_name,
                                       json::object arguments, chr::milliseconds timeout, call_completion done,
                                       const trace_context& trace) {
  auto it = impl_->sessions.find(server);
  if (it == impl_->sessions.end()) {
    call_outcome out;
    out.error = make_error(error_code::connector_unavailable, "no MCP server named " + server + " is configured",
                           json::object{{"server", server}, {"tool", tool_name}});
    done(std::move(out));
    return {};
  }
  auto s = it->second;
  auto id = s->next_id();
  json::object meta;  // the attempt's span, as MCP carries request metadata
  if (trace.valid()) {
    meta["traceparent"] = trace.traceparent();
    if (!trace.tracestate.empty())
      meta["tracestate"] = trace.tracestate;
  }
  asio::post(impl_->io, [s, id, tool_name, arguments = std::move(arguments), timeout, done = std::move(done),
                         meta = std::move(meta)]() mutable {
    json::object params{{"name", tool_name}, {"arguments", std::move(arguments)}};
    if (!meta.empty())
      params["_meta"] = std::move(meta);
    s->request(id, "tools/call", std::move(params), timeout,
               [server = s->name(), tool_name, done = std::move(done)](error_info err, json::value result) {
                 if (err) {
                   call_outcome out;
                   if (!err.details.contains("tool"))
                     err.details["tool"] = tool_name;
                   out.error = std::move(err);
                   done(std::move(out));
                   return;
                 }
                 done(mcp::map_tool_result(result, server, tool_name));
               });
  });
  std::weak_ptr<impl> weak = impl_;
  return [weak, s, id] {
    if (auto im = weak.lock())
      asio::post(im->io, [s, id] { s->cancel(id); });
  };
}

void mcp_connector::list_tools(const std::string& server, chr::milliseconds timeout, tools_callback done) {
  auto it = impl_->sessions.find(server);
  if (it == impl_->sessions.end()) {
    done(make_error(error_code::connector_unavailable, "no MCP server named " + server + " is configured",
                    json::object{{"server", server}}));
    return;
  }
  auto s = it->second;
  // Pages are fetched one after the other; the list is handed over whole.
  struct pager : std::enable_shared_from_this<pager> {
    std::shared_ptr<session> s;
    chr::milliseconds timeout;
    tools_callback done;
    std::vector<mcp::tool_info> tools;
    void next(std::string cursor) {
      json::object params;
      if (!cursor.empty())
        params["cursor"] = cursor;
      s->request(s->next_id(), "tools/list", std::move(params), timeout,
                 [self = shared_from_this()](error_info err, json::value result) {
                   if (err) {
                     self->done(std::move(err));
                     return;
                   }
                   std::string next_cursor;
                   auto page = mcp::parse_tools(result, next_cursor);
                   if (!page) {
                     self->done(std::move(page).error());
                     return;
                   }
                   for (auto& t : *page)
                     self->tools.push_back(std::move(t));
                   if (next_cursor.empty())
                     self->done(std::move(self->tools));
                   else
                     self->next(next_cursor);
                 });
    }
  };
  auto p = std::make_shared<pager>();
  p->s = s;
  p->timeout = timeout;
  p->done = std::move(done);
  asio::post(impl_->io, [p] {
    if (auto cached = p->s->cached_tools()) {  // kept current by list_changed
      p->done(std::move(*cached));
      return;
    }
    p->next({});
  });
}

json::array mcp_connector::status() const {
  json::array out;
  for (const auto& [name, s] : impl_->sessions) {
    auto st = s->status();
    if (st.empty())
      st = json::object{{"server", name}, {"state", "idle"}};
    out.emplace_back(std::move(st));
  }
  return out;
}

} // namespace opex::connectors
