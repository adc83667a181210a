// Kimmy's vocabulary is data (policies/default/kimmy_vocabulary.yml): the embedded file reads,
// names only the contract's intents, and a broken document is refused with a clear error.
#include "kimmy/kimmy_vocabulary.hpp"

#include "opex/json_util.hpp"
#include "opex/schema_registry.hpp"

#include <catch2/catch.hpp>

#include <set>

using namespace opex;
using namespace opex::actors::kimmy_detail;

TEST_CASE("kimmy_vocabulary: the embedded vocabulary covers the 13 intents of the KimmyPayload contract") {
  const auto& v = default_vocabulary();
  auto schema = parse_json(std::string(embedded_file("schemas/kimmy_payload.schema.json"))).value();
  std::set<std::string> contract;
  for (const auto& i : schema.at("properties").at("intent").at("enum").as_array())
    contract.emplace(i.as_string());
  REQUIRE(contract.size() == 13);
  std::set<std::string> named;
  for (const auto& r : v.rules)
    named.insert(r.intent);
  CHECK(named == contract);
  CHECK(v.french.contains("demain"));
  CHECK(v.english.contains("tomorrow"));
  CHECK(v.english.contains("on"));  // quoted in YAML so it stays a word
  CHECK(build_rules().size() == v.rules.size());
}

TEST_CASE("kimmy_vocabulary: terms expand, and a broken document names the rule and the reason") {
  auto ok = parse_vocabulary(R"(terms: {verb: '(?:add|ajoute)'}
rules:
  - {intent: task_create, pattern: '\b${verb}\b.{0,20}\btask\b', weight: 5, trigger: true}
)",
                             "test.yml");
  REQUIRE(ok);
  REQUIRE(ok->rules.size() == 1);
  CHECK(ok->rules[0].trigger);
  CHECK(boost::regex_search(std::string("ajoute une task"), ok->rules[0].re));

  auto unknown = parse_vocabulary("rules:\n  - {intent: x, pattern: '${nope}', weight: 1}\n", "test.yml");
  REQUIRE_FALSE(unknown);
  CHECK(unknown.error().code == error_code::config_error);
  CHECK(unknown.error().message == "test.yml: rule 0: unknown term ${nope}");
  CHECK(unknown.error().details.at("rule") == 0);

  auto bad_regex = parse_vocabulary("rules:\n  - {intent: x, pattern: 'a', weight: 1}\n  - {intent: x, pattern: '(', weight: 1}\n",
                                    "test.yml");
  REQUIRE_FALSE(bad_regex);
  CHECK(bad_regex.error().details.at("rule") == 1);

  auto no_weight = parse_vocabulary("rules:\n  - {intent: x, pattern: 'a'}\n", "test.yml");
  REQUIRE_FALSE(no_weight);
  CHECK(no_weight.error().details.at("reason") == "a rule needs intent, pattern and an integer weight >= 1");

  auto bad_yaml = parse_vocabulary("rules: [", "test.yml");
  REQUIRE_FALSE(bad_yaml);
  CHECK(bad_yaml.error().details.contains("line"));
}
