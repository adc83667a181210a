// The store actor: the only owner of an engine's storage backend (opex/connectors/storage.hpp). Journal entries (masked; digests only for
// sensitive payloads) and plan state upserts are buffered and committed together, one
// transaction per batch (at max_batch writes, after flush_interval_ms, or at once when someone
// waits for a commit: group commit, docs/durability.md); approvals are created and decided at
// once, because a person is waiting on them. Idempotency keys are claimed here, in arrival
// order. Runs detached in production: SQLite never blocks the scheduler's threads.
#include "../agents.hpp"
#include "idempotency_book.hpp"

#include "opex/connectors/storage.hpp"
#include "opex/ids.hpp"
#include "opex/policies/confirmation_code.hpp"

#include <caf/actor_system.hpp>
#include <caf/exit_reason.hpp>
#include <caf/spawn_options.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include "opex/log.hpp"
#include <variant>

namespace opex::actors {

namespace json = boost::json;

namespace {

struct store_state {
  std::shared_ptr<const runtime_services> rt;     ///< config, masking, clocks, schemas
  std::shared_ptr<const runtime_routing> routes;  ///< running plans (group commit waits for them)
  std::shared_ptr<connectors::storage_backend> storage;
  connectors::journal_sink* journal = nullptr;
  connectors::plan_state_store* plans = nullptr;
  connectors::approval_book* approvals = nullptr;
  std::vector<json::object> entries;
  std::vector<std::variant<step_state, request_state>> states;
  std::vector<caf::typed_response_promise<bool>> waiters;  ///< answered after the next commit
  idempotency_book keys;
  bool tick_scheduled = false;
  bool marker_sent = false;  ///< a flush marker is in the mailbox (group commit)
  std::string secret;  ///< HMAC key of confirmation codes
  static inline const char* name = "store";
};

using self_pointer = store_actor::stateful_pointer<store_state>;

/// Commits every buffered write in one transaction, then answers those waiting for it. On a
/// failure nothing is lost: the writes stay buffered (bounded) and the next tick tries again.
void flush(self_pointer self) {
  auto& st = self->state;
  st.marker_sent = false;
  if (st.entries.empty() && st.states.empty()) {
    for (auto& w : st.waiters)
      w.deliver(true);
    st.waiters.clear();
    return;
  }
  const auto started = st.rt->elapsed_now();
  auto observe = [&st, started](bool ok) {
    if (!st.rt->observers.empty())
      st.rt->observers.notify(batch_committed{
        st.entries.size(), st.states.size(),
        std::chrono::duration<double, std::milli>(st.rt->elapsed_now() - started).count(), ok});
  };
  try {
    st.storage->in_batch([&st] {
      st.journal->insert(st.entries);
      for (const auto& s : st.states) {
        if (const auto* step = std::get_if<step_state>(&s))
          st.plans->save_step(*step);
        else
          st.plans->save_request(std::get<request_state>(s));
      }
    });
  } catch (const std::exception& e) {
    observe(false);
    log_event(log_level::error, "store.commit_failed", std::string("the store could not commit a batch: ") + e.what(),
              boost::json::object{{"entries_kept", st.entries.size()}, {"rows_kept", st.states.size()}});
    constexpr std::size_t max_kept = 100000;
    if (st.entries.size() > max_kept)
      st.entries.erase(st.entries.begin(), st.entries.begin() + static_cast<std::ptrdiff_t>(st.entries.size() - max_kept));
    if (!st.tick_scheduled) {
      st.tick_scheduled = true;
      self->delayed_send(self, std::chrono::milliseconds(200), tick_atom::value);
    }
    return;
  }
  observe(true);
  st.entries.clear();
  st.states.clear();
  st.keys.committed();
  for (auto& w : st.waiters)
    w.deliver(true);
  st.waiters.clear();
}

void schedule_flush(self_pointer self) {
  auto& st = self->state;
  const auto& cfg = st.rt->config.journal;
  if (st.entries.size() + st.states.size() >= static_cast<std::size_t>(cfg.max_batch)) {
    flush(self);
  } else if (!st.waiters.empty()) {
    // Someone waits: commit once the messages already queued are in the batch (group commit),
    // or, while other plans run, once their writes of the next moments have joined it: one
    // commit (and one write of each touched page) for many requests (docs/performance.md).
    if (!st.marker_sent) {
      st.marker_sent = true;
      const auto siblings = static_cast<std::size_t>(std::max(0, cfg.group_commit_siblings));
      if (cfg.group_commit_delay_us > 0 && st.routes->requests.running() > siblings)
        self->delayed_send(self, std::chrono::microseconds(cfg.group_commit_delay_us), tick_atom::value);
      else
        self->send(self, tick_atom::value);
    }
  } else if (!st.tick_scheduled) {
    st.tick_scheduled = true;
    self->delayed_send(self, std::chrono::milliseconds(cfg.flush_interval_ms), tick_atom::value);
  }
}

void buffer_entry(self_pointer self, const journal_entry& entry) {
  auto& st = self->state;
  json::value v = to_json(entry);
  policies::mask_secrets(v, st.rt->masking);
  if (st.rt->config.journal.validate_entries) {
    auto errors = st.rt->schemas->validate(schema_ids::journal_entry, v);
    if (!errors.empty())
      log_event(log_level::warn, "journal.entry_invalid", "a journal entry does not match its schema",
                boost::json::object{{"error", errors.front()}});
  }
  st.entries.push_back(std::move(v.get_object()));
}

void buffer(self_pointer self, write_batch& w) {
  auto& st = self->state;
  for (const auto& e : w.entries)
    buffer_entry(self, e);
  for (auto& s : w.steps)
    st.states.emplace_back(std::move(s));
  for (auto& r : w.requests) {
    st.keys.buffered(r);
    st.states.emplace_back(std::move(r));
  }
}

std::string code_of(const store_state& st, const connectors::approval_record& a) {
  return policies::confirmation_code(st.secret, a.id, a.request_id, a.tool, a.payload_digest, a.expires_at);
}

/// A decision entry for the journal: who decided what.
void journal_decision(self_pointer self, const connectors::approval_record& a) {
  journal_entry e;
  e.timestamp = self->state.rt->now();
  e.agent = "proxy";
  e.action_type = "execution";
  e.request_id = a.request_id;
  e.user_id = a.decided_by.empty() ? "opex" : a.decided_by;
  e.tool_used = a.tool;
  e.tenant = a.tenant;
  const std::string decision(approval_status_name(a.status));
  e.status = a.status == approval_status::approved ? "success" : "failure";
  e.data = json::object{{"approval_id", a.id},
                        {"kind", approval_kind_name(a.kind)},
                        {"decision", decision},
                        {"decided_by", a.decided_by},
                        {"step", a.step},
                        {"comment", a.comment}};
  if (a.status != approval_status::approved) {
    e.error_code = a.status == approval_status::expired ? "APPROVAL_EXPIRED" : "APPROVAL_REJECTED";
    e.error = "approval " + decision;
  }
  e.tags = {"approval", decision};
  json::value v = to_json(e);
  policies::mask_secrets(v, self->state.rt->masking);
  self->state.entries.push_back(std::move(v.get_object()));
  schedule_flush(self);
}

/// Checks the caller's idempotency key (docs/durability.md, "Idempotency keys").
claim_reply claim_key(self_pointer self, const idempotency_claim& c) {
  auto& st = self->state;
  try {
    return st.keys.claim(c, *st.plans);
  } catch (const std::exception& e) {
    claim_reply r;
    r.outcome = claim_reply::kind::conflict;
    r.error = make_error(error_code::internal_error, "cannot check the idempotency key", {{"reason", e.what()}});
    return r;
  }
}

/// Forgets idempotency keys older than idempotency.retention_hours; how many.
std::size_t purge_keys(self_pointer self) {
  auto& st = self->state;
  auto before = st.rt->time->now().utc - std::chrono::hours(std::max(1, st.rt->config.idempotency.retention_hours));
  try {
    return st.plans->forget_keys_before(format_timestamp(before));
  } catch (const std::exception& e) {
    log_event(log_level::warn, "idempotency.sweep_failed", std::string("old idempotency keys were not forgotten: ") + e.what());
    return 0;
  }
}

std::shared_ptr<const json::array> query_journal(self_pointer self, const journal_query& q) {
  flush(self);
  auto rows = self->state.journal->query(q);
  auto out = std::make_shared<json::array>();
  if (rows)
    for (auto& r : *rows)
      out->push_back(std::move(r));
  return out;
}

/// Records a new approval (its id drawn when empty); the reply has its code when it needs one.
approval_reply open_approval(self_pointer self, connectors::approval_record& a) {
  auto& st = self->state;
  flush(self);
  if (a.id.empty())
    a.id = make_uuid_v7();
  auto created = st.approvals->create_approval(a);
  approval_reply reply;
  if (!created) {
    reply.error = created.error();
    return reply;
  }
  reply.approval = *created;
  if (created->requires_code)
    reply.code = code_of(st, *created);
  return reply;
}

/// Expires what is due, then decides `d`: NOT_FOUND, CONFLICT / APPROVAL_EXPIRED when already
/// decided, CONFIRMATION_INVALID for a missing or wrong code; journaled.
approval_reply decide_approval(self_pointer self, const approval_decision& d) {
  auto& st = self->state;
  flush(self);
  approval_reply reply;
  auto now = st.rt->now();
  for (auto& expired : st.approvals->expire_due(now))
    journal_decision(self, expired);
  auto a = st.approvals->find_approval(d.approval_id, d.tenant);
  if (!a) {
    reply.error = make_error(error_code::not_found, "no approval " + d.approval_id,
                             json::object{{"approval_id", d.approval_id}});
    return reply;
  }
  if (a->status != approval_status::pending) {
    const std::string status(approval_status_name(a->status));
    reply.error = make_error(a->status == approval_status::expired ? error_code::approval_expired : error_code::conflict,
                             "approval " + a->id + " is already " + status,
                             json::object{{"approval_id", a->id}, {"status", status}});
    reply.approval = *a;
    return reply;
  }
  if (d.approve && a->requires_code && !policies::codes_equal(d.confirmation_code, code_of(st, *a))) {
    reply.error = make_error(error_code::confirmation_invalid,
                             d.confirmation_code.empty() ? "this approval needs its confirmation code"
                                                         : "wrong confirmation code",
                             json::object{{"approval_id", a->id}, {"rule", "confirmation_code"}});
    return reply;
  }
  auto decided = st.approvals->decide(a->id, d.approve ? approval_status::approved : approval_status::rejected,
                                  d.decided_by.empty() ? "unknown" : d.decided_by, d.comment, now);
  if (!decided) {
    reply.error = decided.error();
    return reply;
  }
  journal_decision(self, *decided);
  reply.approval = *decided;
  if (d.approve && decided->requires_code)
    reply.code = d.confirmation_code;  // single use: handed to the step, never stored
  return reply;
}

/// Approvals of a tenant (all: ""), by status and request, after expiring what is due.
approval_list list_approvals(self_pointer self, const approval_query& q) {
  auto& st = self->state;
  flush(self);
  if (!st.rt->read_only)
    for (auto& expired : st.approvals->expire_due(st.rt->now()))
      journal_decision(self, expired);
  auto all = st.approvals->list_approvals(q.tenant, q.status);
  if (q.request_id.empty())
    return all;
  approval_list mine;
  for (auto& a : all)
    if (a.request_id == q.request_id)
      mine.push_back(std::move(a));
  return mine;
}

approval_list expire_approvals(self_pointer self) {
  auto& st = self->state;
  flush(self);
  if (st.rt->read_only)
    return approval_list{};
  auto expired = st.approvals->expire_due(st.rt->now());
  for (const auto& a : expired)
    journal_decision(self, a);
  return expired;
}

stored_plan lookup_plan(self_pointer self, const request_lookup& q) {
  flush(self);
  stored_plan p;
  p.request = self->state.plans->find_request(q.request_id, q.tenant);
  if (p.request)
    p.steps = self->state.plans->steps_of(q.request_id);
  return p;
}

/// Every request left unfinished (awaiting approval, or running at the last stop), with steps.
stored_plans unfinished_plans(self_pointer self) {
  flush(self);
  stored_plans out;
  for (auto& r : self->state.plans->unfinished()) {
    stored_plan p;
    p.steps = self->state.plans->steps_of(r.id);
    p.request = std::move(r);
    out.push_back(std::move(p));
  }
  return out;
}

store_actor::behavior_type store(self_pointer self, std::shared_ptr<const runtime_services> rt,
                                 std::shared_ptr<const runtime_routing> routes,
                                 std::shared_ptr<connectors::storage_backend> storage, std::string secret) {
  self->state.rt = std::move(rt);
  self->state.routes = std::move(routes);
  self->state.storage = std::move(storage);
  self->state.journal = &self->state.storage->journal();
  self->state.plans = &self->state.storage->plans();
  self->state.approvals = &self->state.storage->approvals();
  self->state.secret = std::move(secret);
  self->set_exit_handler([self](caf::exit_msg& msg) {
    flush(self);
    self->quit(msg.reason);
  });
  return {
    [self](journal_atom, journal_entry& entry) {
      buffer_entry(self, entry);
      schedule_flush(self);
    },
    [self](state_atom, step_state& s) {
      self->state.states.emplace_back(std::move(s));
      schedule_flush(self);
    },
    [self](state_atom, request_state& r) {
      self->state.keys.buffered(r);
      self->state.states.emplace_back(std::move(r));
      schedule_flush(self);
    },
    [self](state_atom, write_batch& w) {
      buffer(self, w);
      schedule_flush(self);
    },
    [self](commit_atom, write_batch& w) -> caf::result<bool> {
      buffer(self, w);
      auto promise = self->make_response_promise<bool>();
      self->state.waiters.push_back(promise);
      schedule_flush(self);
      return promise;
    },
    [self](claim_atom, const idempotency_claim& c) { return claim_key(self, c); },
    [self](purge_atom) { return purge_keys(self); },
    [self](tick_atom) {
      self->state.tick_scheduled = false;
      flush(self);
    },
    [self](flush_atom) {  // true when everything written so far is committed
      flush(self);
      return self->state.entries.empty() && self->state.states.empty();
    },
    [self](query_atom, const journal_query& q) { return query_journal(self, q); },
    [self](approval_atom, connectors::approval_record& a) { return open_approval(self, a); },
    [self](decide_atom, const approval_decision& d) { return decide_approval(self, d); },
    [self](list_atom, const approval_query& q) { return list_approvals(self, q); },
    [self](expire_atom) { return expire_approvals(self); },
    [self](facts_atom, const facts_query& q) -> connectors::usage_facts {
      flush(self);
      return self->state.plans->facts(q.tenant, q.tools, q.workflows, q.day_start, q.month_start);
    },
    [self](get_atom, const request_lookup& q) { return lookup_plan(self, q); },
    [self](recover_atom) { return unfinished_plans(self); },
  };
}

} // namespace

result<store_actor> spawn_store(caf::actor_system& system, std::shared_ptr<const runtime> rt,
                                const std::string& database, bool detached) {
  auto opened = connectors::open_storage(rt->config.storage, database);
  if (!opened)
    return opened.error();
  std::shared_ptr<connectors::storage_backend> storage(std::move(opened).value());
  std::string secret = rt->approval_secret;
  if (secret.empty())
    secret = storage->plans().secret("approval_secret");
  // The store receives only the services and the routing parts of the runtime.
  if (detached)
    return system.spawn<caf::detached>(store, part<runtime_services>(rt), part<runtime_routing>(rt), std::move(storage),
                                       std::move(secret));
  return system.spawn(store, part<runtime_services>(rt), part<runtime_routing>(rt), std::move(storage), std::move(secret));
}

} // namespace opex::actors
