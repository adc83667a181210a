// The store's group commit under the deterministic scheduler: while other plans run, an
// awaited commit waits journal.group_commit_delay_us for their writes, then answers them all;
// alone, it commits at once.
#include "actors/actor_fixture.hpp"

#include <catch2/catch.hpp>

using namespace opex;
using namespace opex::test;
using namespace std::chrono_literals;

namespace {

journal_entry entry_of(const std::string& request_id) {
  journal_entry e;
  e.timestamp = "2026-11-18T08:00:00.000Z";
  e.agent = "opex";
  e.action_type = "execution";
  e.request_id = request_id;
  e.user_id = "u";
  return e;
}

/// Sends a commit of one entry; the returned flag is set when the store answers.
std::shared_ptr<bool> commit(actor_fixture& f, const std::string& request_id) {
  auto done = std::make_shared<bool>(false);
  actors::write_batch w;
  w.entries.push_back(entry_of(request_id));
  auto store = f.rt->store;
  f.sys->spawn([store, w, done](caf::event_based_actor* self) {
    self->request(store, std::chrono::seconds(10), actors::commit_atom::value, w).then([done](bool) { *done = true; });
  });
  return done;
}

} // namespace

TEST_CASE("store: with other plans running, a commit waits the group commit delay and takes the others along") {
  actor_fixture f([](const tool_definition&, const boost::json::object&, int) { return ok_outcome(); },
                  [](opex_config& c) {
                    c.journal.group_commit_delay_us = 1000;
                    c.journal.group_commit_siblings = 2;
                  });
  const std::vector<std::string> running{make_uuid_v7(), make_uuid_v7(), make_uuid_v7()};
  for (const auto& id : running)
    f.rt->requests.add(id, actors::supervisor_actor{});
  REQUIRE(f.rt->requests.running() == 3);

  auto first = commit(f, running[0]);
  f.sched->run();
  CHECK_FALSE(*first);  // held for the others
  auto second = commit(f, running[1]);
  f.sched->run();
  CHECK_FALSE(*first);
  CHECK_FALSE(*second);
  f.sched->advance_time(999us);
  f.sched->run();
  CHECK_FALSE(*first);
  f.sched->advance_time(1us);
  f.sched->run();
  CHECK(*first);   // one commit answered both
  CHECK(*second);
  CHECK(f.journal(running[0]).size() == 1);
  CHECK(f.journal(running[1]).size() == 1);

  // At most group_commit_siblings others running: committed at once, no timer.
  f.rt->requests.remove(running[0]);
  REQUIRE(f.rt->requests.running() == 2);
  auto alone = commit(f, running[2]);
  f.sched->run();
  CHECK(*alone);
  for (const auto& id : running)
    f.rt->requests.remove(id);
  CHECK(f.rt->requests.running() == 0);
}

TEST_CASE("store: a group commit delay of 0 commits at once however many plans run") {
  actor_fixture f([](const tool_definition&, const boost::json::object&, int) { return ok_outcome(); },
                  [](opex_config& c) { c.journal.group_commit_delay_us = 0; });
  std::vector<std::string> running;
  for (int i = 0; i < 5; ++i) {
    running.push_back(make_uuid_v7());
    f.rt->requests.add(running.back(), actors::supervisor_actor{});
  }
  auto done = commit(f, running[0]);
  f.sched->run();
  CHECK(*done);
  for (const auto& id : running)
    f.rt->requests.remove(id);
}
