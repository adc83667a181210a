// Value-level templates (docs/decisions.md, decision 5).
#include "opex/template_resolver.hpp"

#include <boost/json/parse.hpp>
#include <catch2/catch.hpp>

using namespace opex;
namespace json = boost::json;

namespace {

const json::value step1 = json::parse(
  R"({"result": {"spec": {"name": "wf", "nodes": [{"id": 1}, {"id": 2}]}, "count": 2, "title": "Hello"},
      "status": "succeeded", "error": null})");

const json::value* lookup(std::string_view root) {
  return root == "step_1" ? &step1 : nullptr;
}

} // namespace

TEST_CASE("template_resolver: a whole-string placeholder becomes the typed value") {
  auto r = resolve_templates(json::parse(R"({"spec": "{{ step_1.result.spec }}", "n": "{{step_1.result.count}}"})"), lookup);
  REQUIRE(r.ok());
  CHECK(r->at("spec").is_object());
  CHECK(r->at("spec").at("name") == "wf");
  CHECK(r->at("n").is_int64());
  CHECK(r->at("n") == 2);
}

TEST_CASE("template_resolver: placeholders inside text are replaced by their text") {
  auto r = resolve_templates(json::parse(R"({"m": "say {{ step_1.result.title }} to {{ step_1.result.spec.nodes.1 }}"})"), lookup);
  REQUIRE(r.ok());
  CHECK(r->at("m") == R"(say Hello to {"id":2})");
}

TEST_CASE("template_resolver: arrays and nested objects are resolved, keys are not") {
  auto r = resolve_templates(json::parse(R"({"{{ step_1.result.title }}": ["{{ step_1.result.count }}", {"x": "{{ step_1.status }}"}]})"), lookup);
  REQUIRE(r.ok());
  const auto& arr = r->at("{{ step_1.result.title }}").as_array();
  CHECK(arr[0] == 2);
  CHECK(arr[1].at("x") == "succeeded");
}

TEST_CASE("template_resolver: a missing path fails in strict mode, never a silent leftover") {
  auto r = resolve_templates(json::parse(R"({"x": "{{ step_1.result.nope }}"})"), lookup);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == error_code::template_unresolved);
  CHECK(r.error().details.at("reason") == "missing_path");
  auto unknown = resolve_templates(json::parse(R"({"x": "a {{ step_2.result }}"})"), lookup);
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.error().details.at("reason") == "unknown_root");
}

TEST_CASE("template_resolver: lenient mode drops null members and keeps other scopes") {
  json::value scope = json::parse(R"({"title": "T", "due_date": null})");
  auto look = [&](std::string_view root) -> const json::value* { return root == "parameters" ? &scope : nullptr; };
  auto r = resolve_templates(json::parse(R"({"title": "{{ parameters.title }}", "due": "{{ parameters.due_date }}",
                                             "prio": "{{ parameters.priority }}", "later": "{{ step_1.result }}"})"),
                             look, template_mode::lenient);
  REQUIRE(r.ok());
  CHECK(r->at("title") == "T");
  CHECK_FALSE(r->as_object().contains("due"));
  CHECK_FALSE(r->as_object().contains("prio"));
  CHECK(r->at("later") == "{{ step_1.result }}");
}

TEST_CASE("template_resolver: malformed braces are plain text") {
  auto r = resolve_templates(json::parse(R"({"x": "{{ not closed", "y": "{{}}", "z": "{ step_1 }"})"), lookup);
  REQUIRE(r.ok());
  CHECK(r->at("x") == "{{ not closed");
  CHECK(find_placeholders(json::parse(R"(["{{ a.b }}", "{{c}} {{ d.e.0 }}"])")).size() == 3);
  CHECK(step_number_of("step_12") == 12);
  CHECK_FALSE(step_number_of("step_x"));
  CHECK_FALSE(step_number_of("step_0"));
}
