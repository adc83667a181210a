// The report reader (report_actor, actors/messages.hpp): the journal's reports on a connection
// and a thread of their own (docs/operations.md, "Workflow metrics").
#include "agents.hpp"

#include <caf/actor_system.hpp>
#include <caf/spawn_options.hpp>
#include <caf/typed_event_based_actor.hpp>

namespace opex::actors {

namespace {

struct report_state {
  std::shared_ptr<connectors::journal_reports> reports;
};

report_reply reply_of(result<boost::json::object> r) {
  if (!r)
    return {r.error(), {}};
  return {{}, std::move(r).value()};
}

report_actor::behavior_type report_reader(report_actor::stateful_pointer<report_state> self,
                                          std::shared_ptr<connectors::journal_reports> reports) {
  self->state.reports = std::move(reports);
  return {
    [self](query_atom, const workflow_metrics_query& q) { return reply_of(self->state.reports->workflow_metrics(q)); },
    [self](list_atom, const request_filter& f) { return reply_of(self->state.reports->list_requests(f)); },
    [self](get_atom, const workflow_metrics_query& q) { return reply_of(self->state.reports->improvement_evidence(q)); },
    [self](alerts_atom) { return reply_of(self->state.reports->alerts()); },
    [self](list_atom, const item_lookup& q) { return reply_of(self->state.reports->tenant_items(q.tenant, q.limit)); },
    [self](get_atom, const history_query& q) { return reply_of(self->state.reports->history(q)); },
  };
}

} // namespace

result<report_actor> spawn_report_reader(caf::actor_system& system, const opex_config::storage_settings& storage,
                                         const std::string& database, bool detached) {
  auto opened = connectors::open_reports(storage, database);
  if (!opened)
    return opened.error();
  std::shared_ptr<connectors::journal_reports> reports(std::move(opened).value());
  if (detached)
    return system.spawn<caf::detached>(report_reader, std::move(reports));
  return system.spawn(report_reader, std::move(reports));
}

} // namespace opex::actors
