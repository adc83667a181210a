// engine::reload (docs/operations.md, "Reload"): a changed autonomy level and a new tenant take
// effect for the next requests; an invalid file changes nothing and says why; a plan parked
// before the reload finishes under the configuration it was admitted with.
#include "opex/engine.hpp"
#include "opex/json_util.hpp"

#include "support/engine_options.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <fstream>

using namespace opex;
using namespace std::chrono_literals;

namespace {

request_result wait(std::future<request_result> f) {
  REQUIRE(f.wait_for(60s) == std::future_status::ready);
  return f.get();
}

const char* backup_plan = R"({"type":"multi_tool_plan","plan":[{"step":1,"tool":"BACKUP_RUN","payload":{}}]})";

} // namespace

TEST_CASE("engine reload: the next requests get the new levels and tenants, a bad file changes nothing") {
  test::temp_dir dir;
  const std::string base = "targets:\n  mode: builtin\n  overrides:\n    BACKUP_RUN: {type: builtin, name: noop}\n"
                           "tenants:\n  - {slug: acme}\n";
  engine eng(test::options_with_yaml(dir, "autonomy_level: 3\n" + base));
  CHECK(eng.current_configuration()->autonomy_level == 3);
  // Level 3: BACKUP_RUN (high risk) parks for a person's approval.
  auto parked = wait(eng.submit_output(parse_json(backup_plan).value()));
  REQUIRE(parked.status == request_status::awaiting_approval);
  submit_options beta;
  beta.tenant = "beta";
  auto unknown = wait(eng.submit_output(parse_json(backup_plan).value(), beta));
  CHECK(unknown.error.code == error_code::validation_error);  // unknown tenant beta

  // Level 1 and a tenant beta.
  std::ofstream(dir.file("opex.yml")) << "autonomy_level: 1\n" << base << "  - {slug: beta, autonomy_level: 3}\n";
  auto report = eng.reload(dir.file("opex.yml"));
  REQUIRE(report);
  CHECK(report->generation == 2);
  CHECK(report->restart_needed.empty());
  CHECK(eng.current_configuration()->autonomy_level == 1);
  auto refused = wait(eng.submit_output(parse_json(backup_plan).value()));
  CHECK(refused.status == request_status::rejected);  // level 1 does not even ask for it
  auto admitted = wait(eng.submit_output(parse_json(R"({"type":"tool_call","tool":"TASK_CREATE","payload":{"title":"t"}})").value(), beta));
  CHECK(admitted.status == request_status::succeeded);

  // The plan parked under level 3 still runs once approved: its policies are those it started with.
  auto pending = eng.approvals("", "pending");
  REQUIRE(pending);
  REQUIRE(pending->size() == 1);
  approval_decision_request d;
  d.approval_id = std::string(pending->at(0).at("id").as_string());
  d.approve = true;
  d.decided_by = "test";
  if (pending->at(0).at("requires_code").as_bool())
    if (auto code = eng.approval_code(d.approval_id))
      d.confirmation_code = *code;
  REQUIRE(eng.decide(d));
  auto final = eng.wait(parked.request_id, 60s);
  REQUIRE(final);
  CHECK(final->at("status") == "succeeded");

  // A broken file: CONFIG_ERROR naming it, and level 1 stays.
  std::ofstream(dir.file("opex.yml")) << "autonomy_level: 9\n";
  auto bad = eng.reload(dir.file("opex.yml"));
  REQUIRE(!bad);
  CHECK(bad.error().code == error_code::config_error);
  CHECK(eng.current_configuration()->autonomy_level == 1);
  // A changed storage path is reported as needing a restart.
  std::ofstream(dir.file("opex.yml")) << "autonomy_level: 2\nstorage: {database: " << dir.file("other.db") << "}\n" << base;
  auto later = eng.reload(dir.file("opex.yml"));
  REQUIRE(later);
  CHECK(later->generation == 3);
  CHECK(std::find(later->restart_needed.begin(), later->restart_needed.end(), "storage") != later->restart_needed.end());
}
