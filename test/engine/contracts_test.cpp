// Contracts: round trips through JSON and the embedded schemas (schemas/).
#include "opex/contracts.hpp"
#include "opex/clock.hpp"
#include "opex/ids.hpp"
#include "opex/json_util.hpp"
#include "opex/schema_registry.hpp"

#include <boost/json/parse.hpp>
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdlib>

using namespace opex;
namespace json = boost::json;

TEST_CASE("contracts: ProlexOutput round trip and N8N tool ids are valid") {
  auto reg = schema_registry::with_embedded();
  auto doc = json::parse(R"({"type":"multi_tool_plan","plan":[
      {"step":1,"tool":"N8N_WORKFLOW_DESIGN","payload":{"goal":"g"}},
      {"step":2,"tool":"N8N_WORKFLOW_UPSERT","payload":{"spec":"{{ step_1.result.spec }}"},"depends_on":[1],
       "retry":{"maximum_attempts":5},"continue_on_failure":true}]})");
  CHECK(reg->validate(schema_ids::prolex_output, doc).empty());
  auto out = prolex_output_from_json(doc.as_object());
  REQUIRE(out.plan.size() == 2);
  CHECK(out.plan[1].depends_on == std::vector<int>{1});
  CHECK(out.plan[1].continue_on_failure);
  CHECK(json::value(to_json(out)) == doc);
}

TEST_CASE("contracts: the reference ProlexOutput schema rejects N8N ids, opex's accepts them") {
  auto reg = schema_registry::with_embedded();
  auto added = reg->add_file("reference/prolex_output", std::string(OPEX_REFERENCE_DIR) + "/schemas/prolex_output.schema.json");
  REQUIRE(added.ok());
  auto doc = json::parse(R"({"type":"tool_call","tool":"N8N_LIST_WORKFLOWS","payload":{}})");
  CHECK_FALSE(reg->validate("reference/prolex_output", doc).empty());
  CHECK(reg->validate(schema_ids::prolex_output, doc).empty());
}

TEST_CASE("contracts: invalid outputs are refused with the validator's messages") {
  auto reg = schema_registry::with_embedded();
  auto err = reg->check(schema_ids::prolex_output, json::parse(R"({"type":"clarification","questions":["short"]})"), "ProlexOutput");
  REQUIRE(err);
  CHECK(err.code == error_code::validation_error);
  CHECK_FALSE(err.details.at("errors").as_array().empty());
  CHECK(reg->check(schema_ids::prolex_output, json::parse(R"({"type":"tool_call","tool":"X","payload":{},"extra":1})"), "x"));
  CHECK(reg->check(schema_ids::prolex_output, json::parse(R"({"type":"answer"})"), "x"));
}

TEST_CASE("contracts: the standard error JSON matches its schema") {
  auto reg = schema_registry::with_embedded();
  auto e = to_error_json(make_error(error_code::tool_not_found, "Tool X not found", {{"tool", "X"}}), make_uuid_v4(),
                         "2026-11-18T08:00:00.000Z");
  CHECK(reg->validate(schema_ids::error, json::value(e)).empty());
  CHECK(e.at("error_code") == "TOOL_NOT_FOUND");
  auto back = error_from_json(json::value(e));
  CHECK(back.code == error_code::tool_not_found);
  CHECK(http_status(error_code::permission_denied) == 403);
  CHECK(http_status(error_code::plan_cycle) == 422);
}

TEST_CASE("contracts: journal entries match the widened journal schema") {
  auto reg = schema_registry::with_embedded();
  journal_entry e;
  e.timestamp = "2026-11-18T08:00:00.000Z";
  e.agent = "opex";
  e.action_type = "execution";
  e.request_id = make_uuid_v4();
  e.user_id = "matthieu";
  e.tool_used = "N8N_WORKFLOW_TEST";
  e.metadata["step"] = 3;
  CHECK(reg->validate(schema_ids::journal_entry, json::value(to_json(e))).empty());
  e.request_id = "not-a-uuid";
  CHECK_FALSE(reg->validate(schema_ids::journal_entry, json::value(to_json(e))).empty());
}

TEST_CASE("contracts: ids and timestamps") {
  auto id = make_uuid_v4();
  CHECK(is_uuid(id));
  CHECK(id[14] == '4');
  CHECK_FALSE(is_uuid("1234"));
  auto v7 = make_uuid_v7();
  CHECK(is_uuid(v7));
  CHECK(v7[14] == '7');
  CHECK(std::string("89ab").find(v7[19]) != std::string::npos);  // RFC 9562 variant
  // The first 48 bits are the Unix time in ms: within a second of now.
  auto hex48 = v7.substr(0, 8) + v7.substr(9, 4);
  auto ms = std::stoll(hex48, nullptr, 16);
  auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                  std::chrono::system_clock::now().time_since_epoch()).count();
  CHECK(std::llabs(now_ms - ms) < 1000);
  CHECK(make_uuid_v7() != v7);
  // The time prefix sorts as the time: an id of a later millisecond sorts later.
  CHECK(v7.substr(0, 13) <= make_uuid_v7().substr(0, 13));
  auto item = make_time_ordered_id("task");
  CHECK(item.size() == 5 + 20);
  CHECK(item.rfind("task_", 0) == 0);
  CHECK((item.substr(5, 12) >= hex48));
  auto t = parse_iso8601("2026-11-18T09:00:00+01:00");
  REQUIRE(t);
  CHECK(format_timestamp(t->utc) == "2026-11-18T08:00:00.000Z");
  CHECK(format_date(t->local_date()) == "2026-11-18");
  auto late = parse_iso8601("2026-11-18T23:30:00-05:00");
  REQUIRE(late);
  CHECK(format_date(late->local_date()) == "2026-11-18");
  CHECK_FALSE(parse_iso8601("2026-13-01"));
  CHECK_FALSE(parse_iso8601("tomorrow"));
}

TEST_CASE("json: strict parsing refuses what parsers disagree on, with the reason") {
  struct row {
    std::string text;
    std::string reason;  ///< "" = accepted
  };
  const std::vector<row> table{
    {R"({"a":1,"b":[1,2,{"c":"d"}]})", ""},
    {"  {\"a\": 1}  \n", ""},
    {R"({"tool":"RESTORE_BACKUP","tool":"NOOP"})", "duplicate key \"tool\""},
    {R"({"a":{"x":1,"x":2}})", "duplicate key \"x\""},
    {R"([{"x":1},{"x":2}])", ""},  // the same key in two objects is fine
    {R"({"n":1e999})", "number out of range: 1e999"},
    {R"({"n":-1e400})", "number out of range: -1e400"},
    {"{\"s\":\"\xc0\xaf\"}", "invalid UTF-8"},
    {"{\"s\":\"\xed\xa0\x80\"}", "invalid UTF-8"},
    {"{\"s\":\"\xff\"}", "invalid UTF-8"},
    {"{\"s\":\"caf\xc3\xa9\"}", ""},
    {R"({"a":1} {"b":2})", "extra data"},
    {R"({"a":)", "incomplete"},
  };
  for (const auto& r : table) {
    INFO(r.text);
    auto parsed = parse_json(r.text);
    if (r.reason.empty()) {
      CHECK(parsed.ok());
      continue;
    }
    REQUIRE_FALSE(parsed.ok());
    CHECK(parsed.error().code == error_code::invalid_json);
    auto reason = std::string(parsed.error().details.at("reason").as_string());
    CHECK(reason.find(r.reason) != std::string::npos);
  }
  // What it builds is the same value boost::json::parse builds.
  auto v = parse_json(R"({"a":[1,2.5,"x",true,null,{"b":-3}],"u":18446744073709551615})");
  REQUIRE(v.ok());
  CHECK(*v == boost::json::parse(R"({"a":[1,2.5,"x",true,null,{"b":-3}],"u":18446744073709551615})"));
}

TEST_CASE("schema_registry: format date, time and date-time are checked as valijson checks them") {
  auto reg = schema_registry::with_embedded();
  auto schema = parse_json(R"({"type":"object","properties":{
      "day":{"type":"string","format":"date"},
      "at":{"type":"string","format":"date-time"},
      "clock":{"type":"string","format":"time"},
      "format":{"type":"string","format":"date","pattern":"^2026-"},
      "items":{"type":"array","items":{"type":"string","format":"date"}}}})");
  REQUIRE(schema);
  REQUIRE(reg->add("test/formats", *schema));
  auto ok = [&](const char* doc) { return reg->validate("test/formats", *parse_json(doc)).empty(); };
  CHECK(ok(R"({"day":"2026-12-31","at":"2026-12-02T07:44:10.123Z","clock":"16:52:45+02:00"})"));
  CHECK(ok(R"({"day":"2028-02-29","at":"2026-12-02t07:44:10Z"})"));
  CHECK_FALSE(ok(R"({"day":"2026-02-30"})"));
  CHECK_FALSE(ok(R"({"day":"2026-04-31"})"));
  CHECK_FALSE(ok(R"({"day":"2026-13-01"})"));
  CHECK_FALSE(ok(R"({"day":"2026-12-02T00:00:00Z"})"));
  CHECK_FALSE(ok(R"({"at":"2026-12-02 07:44:10Z"})"));
  CHECK_FALSE(ok(R"({"at":"2026-12-02T24:00:00Z"})"));
  CHECK_FALSE(ok(R"({"clock":"16:52"})"));
  CHECK(ok(R"({"format":"2026-06-30"})"));       // a property named format is a schema too
  CHECK_FALSE(ok(R"({"format":"2027-06-30"})"));  // its own pattern still applies
  CHECK_FALSE(ok(R"({"format":"2026-06-31"})"));
  CHECK_FALSE(ok(R"({"items":["2026-01-01","2026-02-31"]})"));
  // What the registry hands out (MCP inputSchema, docs) is the schema as written.
  CHECK(reg->document("test/formats")->at("properties").at("day").at("format") == "date");
}
