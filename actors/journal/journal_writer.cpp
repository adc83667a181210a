// The journal_writer actor: masks every entry, buffers it, and commits batches to SQLite in
// one transaction (at max_batch entries or after flush_interval_ms). Runs detached in
// production: SQLite never blocks the scheduler's threads.
#include "../agents.hpp"

#include "opex/connectors/sqlite_journal.hpp"

#include <caf/actor_system.hpp>
#include <caf/exit_reason.hpp>
#include <caf/spawn_options.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <iostream>

namespace opex::actors {

namespace json = boost::json;

namespace {

struct journal_state {
  std::shared_ptr<const runtime> rt;
  std::shared_ptr<connectors::sqlite_journal> db;
  std::vector<json::object> buffer;
  bool tick_scheduled = false;
  static inline const char* name = "journal_writer";
};

using self_pointer = journal_actor::stateful_pointer<journal_state>;

void flush(self_pointer self) {
  auto& st = self->state;
  if (st.buffer.empty())
    return;
  auto written = st.db->append(st.buffer);
  if (written) {
    st.buffer.clear();
    return;
  }
  // Keep what was accepted; retry on the next tick. Bound the memory if the disk stays broken.
  std::cerr << "opex: journal write failed: " << written.error().message << " ("
            << st.buffer.size() << " entries kept)\n";
  constexpr std::size_t max_kept = 100000;
  if (st.buffer.size() > max_kept)
    st.buffer.erase(st.buffer.begin(), st.buffer.begin() + static_cast<std::ptrdiff_t>(st.buffer.size() - max_kept));
}

journal_actor::behavior_type journal_writer(self_pointer self, std::shared_ptr<const runtime> rt,
                                            std::shared_ptr<connectors::sqlite_journal> db) {
  self->state.rt = std::move(rt);
  self->state.db = std::move(db);
  self->set_exit_handler([self](caf::exit_msg& msg) {
    flush(self);
    self->quit(msg.reason);
  });
  return {
    [self](journal_atom, journal_entry& entry) {
      auto& st = self->state;
      json::value v = to_json(entry);
      policies::mask_secrets(v, st.rt->masking);
      if (st.rt->config.journal.validate_entries) {
        auto errors = st.rt->schemas->validate(schema_ids::journal_entry, v);
        if (!errors.empty())
          std::cerr << "opex: journal entry does not match its schema: " << errors.front() << "\n";
      }
      st.buffer.push_back(std::move(v.get_object()));
      const auto& cfg = st.rt->config.journal;
      if (st.buffer.size() >= static_cast<std::size_t>(cfg.max_batch)) {
        flush(self);
      } else if (!st.tick_scheduled) {
        st.tick_scheduled = true;
        self->delayed_send(self, std::chrono::milliseconds(cfg.flush_interval_ms), tick_atom::value);
      }
    },
    [self](tick_atom) {
      self->state.tick_scheduled = false;
      flush(self);
    },
    [self](flush_atom) {
      flush(self);
      return true;
    },
    [self](query_atom, const journal_query& q) -> std::shared_ptr<const json::array> {
      flush(self);
      auto rows = self->state.db->query(q);
      auto out = std::make_shared<json::array>();
      if (rows)
        for (auto& r : *rows)
          out->push_back(std::move(r));
      return out;
    },
  };
}

} // namespace

result<journal_actor> spawn_journal_writer(caf::actor_system& system, std::shared_ptr<const runtime> rt,
                                           const std::string& database, bool detached) {
  auto db = connectors::sqlite_journal::open(database);
  if (!db)
    return db.error();
  std::shared_ptr<connectors::sqlite_journal> shared(std::move(db).value());
  if (detached)
    return system.spawn<caf::detached>(journal_writer, std::move(rt), std::move(shared));
  return system.spawn(journal_writer, std::move(rt), std::move(shared));
}

} // namespace opex::actors
