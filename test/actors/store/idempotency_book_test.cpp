// The store's idempotency claims without actors, on a real plan store: claims in arrival order,
// buffered rows, committed rows, another body, another tenant, keys forgotten after the window.
#include "store/idempotency_book.hpp"

#include "opex/connectors/plan_store.hpp"
#include "opex/ids.hpp"

#include "support/temp_dir.hpp"

#include <boost/json/parse.hpp>
#include <catch2/catch.hpp>

using namespace opex;
using namespace opex::actors;
using kind = claim_reply::kind;

namespace {

request_state row_for(const idempotency_claim& c, std::string status, std::string created_at) {
  request_state r;
  r.id = c.request_id;
  r.tenant = c.tenant;
  r.user_id = "u";
  r.status = std::move(status);
  r.idempotency_key = c.key;
  r.body_digest = c.digest;
  if (r.status != "running")
    r.result = boost::json::parse(R"({"request_id":")" + c.request_id + R"(","status":"succeeded"})");
  r.created_at = std::move(created_at);
  r.updated_at = r.created_at;
  return r;
}

} // namespace

TEST_CASE("idempotency_book: a key is claimed once, repeats wait, then replay the stored result") {
  test::temp_dir dir;
  auto store = connectors::plan_store::open(dir.file("opex.db")).value();
  idempotency_book book;
  idempotency_claim c{"acme", "k1", make_uuid_v4(), "digest-a"};
  CHECK(book.claim(c, *store).outcome == kind::fresh);
  auto repeat = c;
  repeat.request_id = make_uuid_v4();  // a repeat with only the key: another generated id
  auto waiting = book.claim(repeat, *store);
  CHECK(waiting.outcome == kind::running);
  CHECK(waiting.request_id == c.request_id);
  auto other_body = c;
  other_body.digest = "digest-b";
  CHECK(book.claim(other_body, *store).outcome == kind::conflict);
  // The row enters the batch (still running), then ends and is committed.
  book.buffered(row_for(c, "running", "2026-11-18T08:00:00Z"));
  CHECK(book.claim(repeat, *store).outcome == kind::running);
  auto done = row_for(c, "succeeded", "2026-11-18T08:00:00Z");
  book.buffered(done);
  store->save_request(done);
  book.committed();
  auto replay = book.claim(repeat, *store);
  CHECK(replay.outcome == kind::replay);
  CHECK(replay.stored.at("request_id") == boost::json::value(c.request_id));
  CHECK(book.size() == 0);
}

TEST_CASE("idempotency_book: keys are per tenant, request ids are global") {
  test::temp_dir dir;
  auto store = connectors::plan_store::open(dir.file("opex.db")).value();
  idempotency_book book;
  idempotency_claim a{"acme", "shared-key", make_uuid_v4(), "d"};
  REQUIRE(book.claim(a, *store).outcome == kind::fresh);
  idempotency_claim b{"globex", "shared-key", make_uuid_v4(), "d"};
  CHECK(book.claim(b, *store).outcome == kind::fresh);  // the same key, another tenant: its own
  idempotency_claim c{"globex", "other-key", a.request_id, "d"};
  auto taken = book.claim(c, *store);
  CHECK(taken.outcome == kind::conflict);  // acme's request id, never globex's
  CHECK(taken.error.code == error_code::idempotency_conflict);
}

TEST_CASE("idempotency_book: after the retention window a key is forgotten, its request id is not") {
  test::temp_dir dir;
  auto store = connectors::plan_store::open(dir.file("opex.db")).value();
  idempotency_book book;
  idempotency_claim c{"default", "order-7", make_uuid_v4(), "d"};
  REQUIRE(book.claim(c, *store).outcome == kind::fresh);
  auto row = row_for(c, "succeeded", "2026-11-17T08:00:00Z");
  book.buffered(row);
  store->save_request(row);
  book.committed();
  CHECK(store->forget_keys_before("2026-11-17T07:00:00Z") == 0);  // still inside the window
  CHECK(store->find_by_key("default", "order-7").has_value());
  CHECK(store->forget_keys_before("2026-11-18T09:00:00Z") == 1);
  CHECK_FALSE(store->find_by_key("default", "order-7").has_value());
  auto again = c;
  again.request_id = make_uuid_v4();
  CHECK(book.claim(again, *store).outcome == kind::fresh);  // the key alone: a new request
  CHECK(book.claim(idempotency_claim{"default", c.request_id, c.request_id, "d"}, *store).outcome
        == kind::conflict);  // the old request id: still taken
}
