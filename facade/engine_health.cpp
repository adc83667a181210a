// engine::readiness (opex/engine.hpp): the store commits what it holds within 2 s, and the
// configured MCP servers are usable. docs/operations.md, "Health".
#include "engine_impl.hpp"

#include <boost/json/object.hpp>
#include <caf/event_based_actor.hpp>

namespace opex {

namespace json = boost::json;

namespace {

/// An MCP server takes calls when ready, or idle (it starts on first use).
bool mcp_usable(std::string_view state) {
  return state == "ready" || state == "idle";
}

} // namespace

void engine::readiness(std::function<void(json::object)> done) const {
  auto& im = *impl_;
  json::object mcp;
  bool ready = true;  // every MCP server usable
  for (const auto& s : mcp_servers()) {
    const auto& o = s.as_object();
    auto state = std::string(o.at("state").as_string());
    ready = ready && mcp_usable(state);
    mcp[std::string(o.at("server").as_string())] = state;
  }
  if (im.read_only || im.stopped.load() || !im.system) {
    json::object checks{{"journal", im.read_only ? "read-only engine" : "engine stopped"}, {"mcp_servers", std::move(mcp)}};
    done(json::object{{"ready", false}, {"checks", std::move(checks)}});
    return;
  }
  auto store = im.rt->store;
  im.system->spawn([store, ready, mcp = std::move(mcp), done = std::move(done)](caf::event_based_actor* self) mutable {
    self->request(store, std::chrono::seconds(2), actors::flush_atom::value)
      .then(
        [ready, mcp, done](bool committed) mutable {
          json::object checks{{"journal", committed ? "ok" : "the last commit failed; writes are kept and retried"},
                              {"mcp_servers", std::move(mcp)}};
          done(json::object{{"ready", ready && committed}, {"checks", std::move(checks)}});
        },
        [mcp, done](caf::error& err) mutable {
          json::object checks{{"journal", "the store did not answer: " + caf::to_string(err)}, {"mcp_servers", std::move(mcp)}};
          done(json::object{{"ready", false}, {"checks", std::move(checks)}});
        });
  });
}

} // namespace opex
