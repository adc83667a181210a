// Kimmy's classifier on the labelled corpus (test/fixtures/kimmy_corpus.jsonl) and on the
// decision rule of docs/kimmy.md.
#include "kimmy/kimmy_classifier.hpp"

#include "opex/config.hpp"
#include "opex/json_util.hpp"
#include "opex/schema_registry.hpp"

#include "support/default_config.hpp"

#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>

#include <fstream>
#include <iostream>
#include <map>

using namespace opex;
using namespace opex::actors;
namespace json = boost::json;

namespace {

using test::default_config;
using test::reference_now;

kimmy_analysis analyze(const kimmy_classifier& k, const std::string& text) {
  kimmy_request req;
  req.text = text;
  req.now = reference_now();
  return k.analyze(req);
}

struct corpus_score {
  int total = 0;
  double intent_accuracy = 0, language_accuracy = 0, param_accuracy = 0;
  int invalid_payloads = 0;
};

corpus_score score_corpus(const std::string& file) {
  kimmy_classifier kimmy(default_config());
  auto registry = schema_registry::with_embedded();
  std::ifstream in(file);
  REQUIRE(in.good());
  std::string line;
  int total = 0, intent_ok = 0, language_ok = 0, param_checks = 0, param_ok = 0, invalid = 0;
  std::map<std::string, std::pair<int, int>> per_intent;
  std::vector<std::string> misses;
  while (std::getline(in, line)) {
    if (line.empty())
      continue;
    auto doc = parse_json(line);
    REQUIRE(doc.ok());
    const auto& obj = doc->get_object();
    std::string text(obj.at("text").get_string());
    std::string want_intent(obj.at("intent").get_string());
    auto a = analyze(kimmy, text);
    ++total;
    auto& pi = per_intent[want_intent];
    ++pi.second;
    if (a.payload.intent == want_intent) {
      ++intent_ok;
      ++pi.first;
    } else {
      misses.push_back("intent " + a.payload.intent + " (want " + want_intent + "): " + text);
    }
    if (a.payload.language == obj.at("language").get_string())
      ++language_ok;
    else
      misses.push_back("language " + a.payload.language + ": " + text);
    if (const auto* params = obj.if_contains("parameters"))
      for (const auto& kv : params->get_object()) {
        ++param_checks;
        const auto* got = a.payload.parameters.if_contains(kv.key());
        json::value g = got ? *got : json::value(nullptr);
        if (g == kv.value())
          ++param_ok;
        else
          misses.push_back(std::string(kv.key()) + " " + json::serialize(g) + " (want "
                           + json::serialize(kv.value()) + "): " + text);
      }
    if (!registry->validate(schema_ids::kimmy_payload, json::value(to_json(a.payload))).empty())
      ++invalid;
  }
  corpus_score out;
  out.total = total;
  out.intent_accuracy = double(intent_ok) / total;
  out.language_accuracy = double(language_ok) / total;
  out.param_accuracy = param_checks ? double(param_ok) / param_checks : 1.0;
  out.invalid_payloads = invalid;
  std::cout << file << ": " << total << " requests, intent accuracy " << out.intent_accuracy * 100
            << "%, language accuracy " << out.language_accuracy * 100 << "%, parameter accuracy "
            << out.param_accuracy * 100 << "% (" << param_ok << "/" << param_checks << ")\n";
  for (const auto& [intent, counts] : per_intent)
    std::cout << "  " << intent << ": " << counts.first << "/" << counts.second << "\n";
  for (const auto& m : misses)
    std::cout << "  miss: " << m << "\n";
  return out;
}

} // namespace

// The corpus the rules were developed against.
TEST_CASE("kimmy_classifier: labelled corpus accuracy is at least 90 percent") {
  auto s = score_corpus(OPEX_FIXTURES_DIR "/kimmy_corpus.jsonl");
  CHECK(s.total >= 100);
  CHECK(s.invalid_payloads == 0);
  CHECK(s.language_accuracy >= 0.95);
  CHECK(s.param_accuracy >= 0.90);
  REQUIRE(s.intent_accuracy >= 0.90);
}

// A second corpus written independently, never used to tune the rules: its figure says how
// well the rules generalise.
TEST_CASE("kimmy_classifier: held-out corpus accuracy") {
  auto s = score_corpus(OPEX_FIXTURES_DIR "/kimmy_holdout.jsonl");
  CHECK(s.total >= 60);
  CHECK(s.invalid_payloads == 0);
  CHECK(s.intent_accuracy >= 0.90);
}

TEST_CASE("kimmy_classifier: the foundation request escalates with the coming Friday") {
  kimmy_classifier kimmy(default_config());
  auto a = analyze(kimmy, "Créer une tâche pour réviser l'architecture Prolex avant vendredi");
  CHECK(a.payload.intent == "task_create");
  CHECK(a.payload.language == "fr");
  CHECK(a.payload.parameters.at("due_date") == "2026-11-20");
  CHECK(a.payload.parameters.at("title") == "Réviser l'architecture Prolex");
  CHECK(a.payload.parameters.at("priority").is_null());
  // "architecture" is a sensitive keyword: Prolex decides.
  CHECK(a.payload.requires_prolex);
  CHECK_FALSE(a.decision.handled_directly);
  CHECK(a.payload.constraints.at("sensitivity") == "medium");
}

TEST_CASE("kimmy_classifier: a clear reversible task is handled directly") {
  kimmy_classifier kimmy(default_config());
  auto a = analyze(kimmy, "Crée une tâche pour acheter du pain demain");
  CHECK(a.payload.intent == "task_create");
  CHECK(a.payload.complexity == "simple");
  CHECK(a.payload.confidence >= 0.85);
  CHECK_FALSE(a.payload.requires_prolex);
  CHECK(a.decision.handled_directly);
  CHECK(a.quick_action_tool == "TASK_CREATE");
}

TEST_CASE("kimmy_classifier: a task about a demo stays a task, titles keep their words") {
  kimmy_classifier kimmy(default_config());
  auto a = analyze(kimmy, "Crée une tâche pour préparer la démo demain");
  CHECK(a.payload.intent == "task_create");
  CHECK(a.payload.parameters.at("title") == "Préparer la démo");
  auto b = analyze(kimmy, "Planifie une réunion démo avec l'équipe jeudi à 14h");
  CHECK(b.payload.intent == "calendar_event");
  CHECK(b.payload.parameters.at("start") == "2026-11-19T14:00:00+01:00");
}

TEST_CASE("kimmy_classifier: never invents parameters") {
  kimmy_classifier kimmy(default_config());
  auto a = analyze(kimmy, "Crée une tâche pour ranger le bureau");
  CHECK(a.payload.parameters.at("due_date").is_null());
  CHECK(a.payload.parameters.at("priority").is_null());
  CHECK(a.payload.parameters.at("client_name").is_null());
  CHECK(a.payload.parameters.at("tags").as_array().empty());
}

TEST_CASE("kimmy_classifier: sensitive intents, keywords and low confidence escalate") {
  kimmy_classifier kimmy(default_config());
  auto infra = analyze(kimmy, "le serveur n8n ne répond plus depuis ce matin");
  CHECK(infra.payload.intent == "debug_infra");
  CHECK(infra.payload.requires_prolex);
  auto secret = analyze(kimmy, "Note que le password du wifi est hunter2");
  CHECK(secret.payload.requires_prolex);
  CHECK(secret.payload.constraints.at("sensitivity") == "high");
  auto vague = analyze(kimmy, "hmm");
  CHECK(vague.payload.intent == "other");
  CHECK(vague.payload.complexity == "unclear");
  CHECK(vague.payload.confidence < 0.80);
  CHECK(vague.payload.requires_prolex);
  auto danger = analyze(kimmy, "crée une tâche: lancer rm -rf / sur la machine");
  CHECK(danger.payload.requires_prolex);
}

TEST_CASE("kimmy_classifier: language detection") {
  CHECK(kimmy_classifier::detect_language("remind me to call the dentist tomorrow") == "en");
  CHECK(kimmy_classifier::detect_language("rappelle-moi d'appeler le dentiste demain") == "fr");
}
