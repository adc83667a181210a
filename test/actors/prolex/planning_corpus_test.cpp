// Offline planning measured on labelled requests (docs/kimmy.md, "Figures"): Kimmy's rules then
// Prolex's rule planner at level 3, as with the README's defaults and no model, on
// test/fixtures/planning_corpus.jsonl and planning_dev2..9.jsonl (the rules are tuned on them) and
// test/fixtures/planning_holdout.jsonl (written separately, never tuned on). Each line gives
// the intent, the escalation, the output type, each step's tool, dependencies and payload
// values, and the payload keys that must be absent (an invented parameter fails the test).
#include "kimmy/kimmy_classifier.hpp"
#include "prolex/rule_planner.hpp"
#include "prolex/system_knowledge.hpp"

#include "opex/config.hpp"
#include "opex/connectors/knowledge_fts.hpp"
#include "opex/json_util.hpp"

#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>

#include <fstream>
#include <iostream>
#include <map>

using namespace opex;
using namespace opex::actors;
namespace json = boost::json;

namespace {

const opex_config& level3_config() {
  static const opex_config cfg = [] {
    auto c = load_config("");
    REQUIRE(c.ok());
    auto out = std::move(c).value();
    out.autonomy_level = 3;
    return out;
  }();
  return cfg;
}

/// The tenant's items the corpus' references name (its labelling rules: tasks oldest first,
/// listed newest first as journal_reports::tenant_items gives them); `@task:<title>` in a label
/// stands for that task's id.
const json::object& store_items() {
  static const json::object items = [] {
    const char* tasks[] = {"Réserver la salle",         "Relancer le fournisseur", "Préparer la démo",
                           "Préparer la démo client",   "Send the invoice to Hooli", "Update the README",
                           "Call the accountant",       "Call the bank"};
    json::array t;
    for (int i = 7; i >= 0; --i)
      t.push_back(json::object{{"id", "task-" + std::to_string(i + 1)}, {"title", tasks[i]}, {"status", "pending"}});
    json::array notes{json::object{{"id", "note-2"}, {"title", "Meeting notes Q4"}},
                      json::object{{"id", "note-1"}, {"title", "Tarifs fournisseur"}}};
    json::array events{json::object{{"id", "event-2"}, {"title", "Demo with Hooli"}, {"start", "2026-11-20T14:00:00+01:00"}},
                       json::object{{"id", "event-1"}, {"title", "Réunion d'équipe"}, {"start", "2026-11-19T10:00:00+01:00"}}};
    return json::object{{"tasks", std::move(t)}, {"notes", std::move(notes)}, {"events", std::move(events)}};
  }();
  return items;
}

/// A label's value with `@task:<title>` replaced by the task's id.
json::value expected_value(const json::value& v) {
  if (!v.is_string() || !v.get_string().starts_with("@task:"))
    return v;
  const std::string title(v.get_string().subview(6));
  for (const auto& t : store_items().at("tasks").get_array())
    if (t.at("title") == title.c_str())
      return t.at("id");
  return v;
}

/// Right and total per field.
struct tally {
  int ok = 0, total = 0;
  void add(bool right) {
    ok += right ? 1 : 0;
    ++total;
  }
  double rate() const { return total ? double(ok) / total : 1.0; }
};

struct language_score {
  std::map<std::string, tally> fields;  // intent, escalate, output, tools, depends_on, payload, answer
  int invented = 0;
};

struct corpus_score {
  std::map<std::string, language_score> by_language;
  std::vector<std::string> misses;

  double rate(const std::string& field) const {
    tally all;
    for (const auto& [lang, s] : by_language)
      if (auto it = s.fields.find(field); it != s.fields.end()) {
        all.ok += it->second.ok;
        all.total += it->second.total;
      }
    return all.rate();
  }
  int invented() const {
    int n = 0;
    for (const auto& [lang, s] : by_language)
      n += s.invented;
    return n;
  }
};

std::string output_name(output_type t) {
  switch (t) {
  case output_type::answer: return "answer";
  case output_type::tool_call: return "tool_call";
  case output_type::multi_tool_plan: return "multi_tool_plan";
  case output_type::clarification: return "clarification";
  }
  return "?";
}

/// Checks one step's payload: the labelled values, and the keys that must be absent.
void score_step(const json::object& want, const plan_step& got, language_score& s, corpus_score& out,
                const std::string& text) {
  if (const auto* p = want.if_contains("payload"))
    for (const auto& kv : p->get_object()) {
      const auto* g = got.payload.if_contains(kv.key());
      const auto want_value = expected_value(kv.value());
      const bool right = g && *g == want_value;
      s.fields["payload"].add(right);
      if (!right)
        out.misses.push_back(std::string(kv.key()) + " " + (g ? json::serialize(*g) : "absent") + " (want "
                             + json::serialize(want_value) + "): " + text);
    }
  if (const auto* a = want.if_contains("absent"))
    for (const auto& k : a->get_array()) {
      const auto* g = got.payload.if_contains(k.get_string());
      if (g && !g->is_null()) {
        ++s.invented;
        out.misses.push_back("INVENTED " + std::string(k.get_string()) + " " + json::serialize(*g) + ": " + text);
      }
    }
}

void score_plan(const json::object& want, const prolex_output& got, language_score& s, corpus_score& out,
                const std::string& text) {
  const auto& steps = want.at("steps").get_array();
  std::string want_tools, got_tools;
  for (const auto& st : steps)
    want_tools += std::string(st.at("tool").get_string()) + " ";
  for (const auto& st : got.plan)
    got_tools += st.tool + " ";
  s.fields["tools"].add(want_tools == got_tools);
  if (want_tools != got_tools)
    out.misses.push_back("tools " + got_tools + "(want " + want_tools + "): " + text);
  for (std::size_t i = 0; i < steps.size() && i < got.plan.size(); ++i) {
    const auto& w = steps[i].get_object();
    if (w.at("tool") != got.plan[i].tool.c_str())
      continue;
    if (const auto* d = w.if_contains("depends_on")) {
      json::array g;
      for (int x : got.plan[i].depends_on)
        g.emplace_back(x);
      s.fields["depends_on"].add(*d == json::value(g));
      if (*d != json::value(g))
        out.misses.push_back("depends_on " + json::serialize(g) + " (want " + json::serialize(*d) + "): " + text);
    }
    score_step(w, got.plan[i], s, out, text);
  }
}

void score_line(const json::object& want, const kimmy_analysis& a, const planning_result& r, corpus_score& out) {
  const std::string text(want.at("text").get_string());
  auto& s = out.by_language[std::string(want.at("language").get_string())];
  auto field = [&](const std::string& name, bool right, const std::string& miss) {
    s.fields[name].add(right);
    if (!right)
      out.misses.push_back(name + " " + miss + ": " + text);
  };
  field("intent", a.payload.intent == want.at("intent").get_string(),
        a.payload.intent + " (want " + std::string(want.at("intent").get_string()) + ")");
  if (const auto* e = want.if_contains("escalate"))
    field("escalate", a.payload.requires_prolex == e->get_bool(), a.payload.requires_prolex ? "true" : "false");
  const auto type = output_name(r.output.type);
  field("output", type == want.at("output").get_string(),
        type + " (want " + std::string(want.at("output").get_string()) + "; " + r.note.rule + ": " + r.note.detail + ")");
  if (want.contains("steps") && (r.output.type == output_type::tool_call || r.output.type == output_type::multi_tool_plan))
    score_plan(want, r.output, s, out, text);
  else if (want.contains("steps"))
    s.fields["tools"].add(false);
  if (const auto* words = want.if_contains("answer_contains"))
    for (const auto& w : words->get_array())
      field("answer", r.output.content.find(std::string(w.get_string())) != std::string::npos,
            "no \"" + std::string(w.get_string()) + "\" in \"" + r.output.content.substr(0, 160) + "\"");
}

corpus_score score_corpus(const std::string& file) {
  const auto& cfg = level3_config();
  kimmy_classifier kimmy(cfg);
  auto knowledge = connectors::open_knowledge_index();
  REQUIRE(knowledge.ok());
  (*knowledge)->add(system_documents(cfg));
  rule_planner planner(cfg, knowledge->get());
  std::ifstream in(file);
  REQUIRE(in.good());
  corpus_score out;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty())
      continue;
    auto doc = parse_json(line);
    REQUIRE(doc.ok());
    const auto& want = doc->get_object();
    kimmy_request req;
    req.text = std::string(want.at("text").get_string());
    req.now = *parse_iso8601("2026-11-18T09:00:00+01:00");  // the corpus' "now": Wednesday, Paris
    auto a = kimmy.analyze(req);
    score_line(want, a, planner.plan(a.payload, cfg.autonomy_level, &store_items()), out);
  }
  std::cout << file << ": intent " << out.rate("intent") << ", output " << out.rate("output") << ", tools "
            << out.rate("tools") << ", payload " << out.rate("payload") << ", invented " << out.invented() << "\n";
  for (const auto& [lang, s] : out.by_language) {
    std::cout << "  " << lang << ":";
    for (const auto& [name, t] : s.fields)
      std::cout << " " << name << " " << t.ok << "/" << t.total;
    std::cout << ", invented " << s.invented << "\n";
  }
  for (const auto& m : out.misses)
    std::cout << "  miss: " << m << "\n";
  return out;
}

/// The floors a corpus' figures must reach (docs/kimmy.md, "Figures"), and no invented parameter.
struct floors {
  double intent, output, tools, payload;
};

void check_floors(const std::string& file, floors f) {
  auto s = score_corpus(file);
  CHECK(s.rate("intent") >= f.intent);
  CHECK(s.rate("output") >= f.output);
  CHECK(s.rate("tools") >= f.tools);
  CHECK(s.rate("payload") >= f.payload);
  CHECK(s.rate("depends_on") >= 0.99);
  CHECK(s.invented() == 0);
}

} // namespace

// The figures are floors under what the rules reach today (docs/kimmy.md, "Figures"): a change
// that lowers one fails here. Issue 15 asks for 95 % on the held-out part and no invented
// parameter; the floors rise as the rules do.
TEST_CASE("planning corpus: intent, tool choice and parameters on the tuned corpus") {
  check_floors(OPEX_FIXTURES_DIR "/planning_corpus.jsonl", {0.98, 0.98, 0.98, 0.98});
}

// Batches written by separate authors from the labelling rules and the catalogue alone, each
// measured once before any tuning (docs/kimmy.md, "Figures"), then tuned on like the first.
TEST_CASE("planning corpus: the batches of other authors, tuned on since") {
  const std::pair<const char*, floors> batches[] = {
    {"planning_dev2.jsonl", {0.98, 0.98, 0.98, 0.98}}, {"planning_dev3.jsonl", {0.98, 0.97, 0.97, 0.98}},
    {"planning_dev4.jsonl", {0.98, 0.98, 0.98, 0.98}}, {"planning_dev5.jsonl", {0.98, 0.98, 0.98, 0.98}},
    {"planning_dev6.jsonl", {0.98, 0.97, 0.96, 0.98}}, {"planning_dev7.jsonl", {0.98, 0.98, 0.98, 0.98}},
    {"planning_dev8.jsonl", {0.98, 0.98, 0.98, 0.98}}, {"planning_dev9.jsonl", {0.98, 0.98, 0.97, 0.98}}};
  for (const auto& [file, f] : batches) {
    INFO(file);
    check_floors(std::string(OPEX_FIXTURES_DIR "/") + file, f);
  }
}

TEST_CASE("planning corpus: the held-out part") {
  check_floors(OPEX_FIXTURES_DIR "/planning_holdout.jsonl", {0.92, 0.90, 0.87, 0.87});
}
