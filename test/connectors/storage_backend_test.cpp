// Every storage backend (connectors/storage_registry.cpp) through the interfaces only: a batch is
// all or nothing, requests and steps come back as saved, idempotency keys are found and
// forgotten, approvals are decided once, and storage.backend names only known backends. A new
// backend runs these tests unchanged.
#include "opex/connectors/storage.hpp"

#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <stdexcept>

using namespace opex;
using namespace opex::connectors;
namespace json = boost::json;

namespace {

stored_request request(std::string id, std::string status = "running") {
  stored_request r;
  r.id = std::move(id);
  r.tenant = "acme";
  r.user_id = "u1";
  r.status = std::move(status);
  r.output = json::object{{"type", "tool_call"}};
  r.created_at = "2026-12-03T10:00:00.000Z";
  r.updated_at = r.created_at;
  return r;
}

} // namespace

TEST_CASE("storage: each backend keeps what a batch wrote, and nothing of a batch that failed") {
  for (const auto& factory : storage_factories()) {
    INFO("backend " << factory.name);
    test::temp_dir dir;
    opex_config::storage_settings settings;
    settings.backend = std::string(factory.name);
    auto opened = open_storage(settings, dir.file("opex.db"));
    REQUIRE(opened);
    auto& storage = **opened;

    auto r = request("r1");
    r.idempotency_key = "k1";
    stored_step s;
    s.request_id = "r1";
    s.step = 1;
    s.tool = "NOOP";
    s.status = "succeeded";
    s.data = json::object{{"ok", true}};
    s.attempts = 1;
    json::object entry{{"timestamp", "2026-12-03T10:00:00.000Z"}, {"request_id", "r1"}, {"agent", "opex"},
                       {"action_type", "execution"}, {"tool_used", "NOOP"}, {"tenant", "acme"},
                       {"result", json::object{{"status", "success"}}}};
    storage.in_batch([&] {
      storage.journal().insert({entry});
      storage.plans().save_request(r);
      storage.plans().save_step(s);
    });
    auto found = storage.plans().find_request("r1", "acme");
    REQUIRE(found);
    CHECK(found->status == "running");
    CHECK(found->output.at("type") == "tool_call");
    CHECK_FALSE(storage.plans().find_request("r1", "other-tenant"));
    auto steps = storage.plans().steps_of("r1");
    REQUIRE(steps.size() == 1);
    CHECK(steps[0].data.at("ok") == true);
    CHECK(storage.plans().find_by_key("acme", "k1"));
    CHECK(storage.plans().unfinished().size() == 1);
    journal_query q;
    q.request_id = "r1";
    auto rows = storage.journal().query(q);
    REQUIRE(rows);
    CHECK(rows->size() == 1);

    // A batch that throws leaves nothing behind.
    CHECK_THROWS_AS(storage.in_batch([&] {
      storage.plans().save_request(request("r2"));
      throw std::runtime_error("disk full");
    }),
                    std::runtime_error);
    CHECK_FALSE(storage.plans().find_request("r2", ""));

    CHECK(storage.plans().forget_keys_before("2026-12-04T00:00:00.000Z") == 1);
    CHECK_FALSE(storage.plans().find_by_key("acme", "k1"));
    CHECK(storage.plans().secret("approval_secret") == storage.plans().secret("approval_secret"));

    approval_record a;
    a.id = "appr-1";
    a.tenant = "acme";
    a.request_id = "r1";
    a.step = 1;
    a.tool = "NOOP";
    a.reason = "high risk";
    a.created_at = "2026-12-03T10:00:00.000Z";
    a.expires_at = "2026-12-04T10:00:00.000Z";
    REQUIRE(storage.approvals().create_approval(a));
    CHECK(storage.approvals().list_approvals("acme", "pending").size() == 1);
    auto decided = storage.approvals().decide("appr-1", approval_status::approved, "ops", "ok", "2026-12-03T10:01:00.000Z");
    REQUIRE(decided);
    CHECK(decided->status == approval_status::approved);
    auto again = storage.approvals().decide("appr-1", approval_status::rejected, "ops", "", "2026-12-03T10:02:00.000Z");
    REQUIRE_FALSE(again);
    CHECK(again.error().code == error_code::conflict);
    CHECK(storage.approvals().expire_due("2026-12-05T00:00:00.000Z").empty());
  }
}

TEST_CASE("storage: storage.backend names a registered backend, anything else is a clear CONFIG_ERROR") {
  CHECK_FALSE(check_storage_backend("sqlite"));
  auto err = check_storage_backend("postgres");
  REQUIRE(err);
  CHECK(err.code == error_code::config_error);
  CHECK(err.message == "unknown storage backend 'postgres' (known: sqlite)");
  CHECK(err.details.at("key") == "storage.backend");
  test::temp_dir dir;
  opex_config::storage_settings settings;
  settings.backend = "postgres";
  auto opened = open_storage(settings, dir.file("opex.db"));
  REQUIRE_FALSE(opened);
  CHECK(opened.error().code == error_code::config_error);
}
