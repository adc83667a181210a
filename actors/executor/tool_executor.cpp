// The tool_executor actor: one per tool category. Picks the connector from the tool's target
// type and runs one attempt; completions from connector threads come back as done messages
// (or, when the connector finished synchronously, are answered at once).
#include "../agents.hpp"

#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <atomic>
#include <optional>
#include <thread>
#include <unordered_map>

namespace opex::actors {

namespace json = boost::json;

namespace {

struct executor_state {
  std::shared_ptr<const runtime> rt;
  std::string category;
  std::uint64_t next_id = 0;
  std::unordered_map<std::uint64_t, caf::typed_response_promise<connectors::call_outcome>> pending;
  static inline const char* name = "tool_executor";
};

/// Lets a completion that runs inside connector::call (same thread, same handler) be returned
/// directly instead of going through the mailbox.
struct sync_slot {
  std::thread::id caller = std::this_thread::get_id();
  std::atomic<bool> in_call{true};
  std::optional<connectors::call_outcome> value;
};

executor_actor::behavior_type tool_executor(executor_actor::stateful_pointer<executor_state> self,
                                            std::shared_ptr<const runtime> rt, std::string category) {
  self->state.rt = std::move(rt);
  self->state.category = std::move(category);
  return {
    [self](exec_atom, const step_call& call) -> caf::result<connectors::call_outcome> {
      auto& st = self->state;
      auto type = target_type_name(call.tool->target.type);
      auto it = st.rt->connectors.find(type);
      if (it == st.rt->connectors.end()) {
        connectors::call_outcome out;
        out.error = make_error(error_code::connector_unavailable,
                               "no connector for target type " + std::string(type) + " yet",
                               json::object{{"tool", call.tool->id}, {"target_type", type}});
        return out;
      }
      auto id = ++st.next_id;
      auto slot = std::make_shared<sync_slot>();
      auto handle = caf::actor_cast<executor_actor>(self);
      it->second->call(*call.tool, *call.payload, call.context,
                       [slot, handle, id](connectors::call_outcome outcome) {
                         if (slot->in_call.load(std::memory_order_acquire)
                             && std::this_thread::get_id() == slot->caller) {
                           slot->value = std::move(outcome);
                           return;
                         }
                         caf::anon_send(handle, done_atom::value, id, std::move(outcome));
                       });
      slot->in_call.store(false, std::memory_order_release);
      if (slot->value)
        return std::move(*slot->value);
      auto rp = self->make_response_promise<connectors::call_outcome>();
      st.pending.emplace(id, rp);
      return rp;
    },
    [self](done_atom, std::uint64_t id, connectors::call_outcome& outcome) {
      auto it = self->state.pending.find(id);
      if (it == self->state.pending.end())
        return;
      it->second.deliver(std::move(outcome));
      self->state.pending.erase(it);
    },
  };
}

} // namespace

executor_actor spawn_executor(caf::actor_system& system, std::shared_ptr<const runtime> rt,
                              std::string category) {
  return system.spawn(tool_executor, std::move(rt), std::move(category));
}

} // namespace opex::actors
