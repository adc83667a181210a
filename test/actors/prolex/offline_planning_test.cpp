// Offline planning of the requests issue 15 quotes (docs/kimmy.md, "Several actions", "Tool
// choice", "Parameters"): Kimmy's rules then Prolex's rule planner with the default
// configuration, no model.
#include "kimmy/kimmy_actions.hpp"
#include "kimmy/kimmy_classifier.hpp"
#include "prolex/rule_planner.hpp"
#include "prolex/document_knowledge.hpp"
#include "prolex/system_knowledge.hpp"

#include "opex/config.hpp"
#include "opex/connectors/knowledge_fts.hpp"
#include "opex/json_util.hpp"

#include "support/temp_dir.hpp"

#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>

#include <fstream>

using namespace opex;
using namespace opex::actors;
namespace json = boost::json;

namespace {

struct offline {
  opex_config cfg;
  kimmy_classifier kimmy;
  std::unique_ptr<knowledge_index> knowledge;
  rule_planner planner;
  explicit offline(int level)
    : cfg(with_level(level)), kimmy(cfg), knowledge(indexed(cfg)), planner(cfg, knowledge.get()) {}

  static std::unique_ptr<knowledge_index> indexed(const opex_config& c) {
    auto index = connectors::open_knowledge_index().value();
    index->add(system_documents(c));
    index->add(embedded_doc_documents());  // as the engine indexes them
    return index;
  }

  static opex_config with_level(int level) {
    auto c = load_config("").value();
    c.autonomy_level = level;
    return c;
  }
  kimmy_analysis analyze(const std::string& text) const {
    kimmy_request req;
    req.text = text;
    req.now = *parse_iso8601("2026-11-18T09:00:00+01:00");  // Wednesday, Paris
    return kimmy.analyze(req);
  }
  planning_result plan(const std::string& text) const { return planner.plan(analyze(text).payload, cfg.autonomy_level); }
};

const json::value* member(const plan_step& s, std::string_view key) {
  return s.payload.if_contains(key);
}

} // namespace

TEST_CASE("offline planning: two actions in one request become a multi_tool_plan") {
  offline o(2);
  auto a = o.analyze("Ajoute une tâche pour relancer le fournisseur lundi et note les tarifs qu'il a proposés");
  CHECK(a.payload.complexity == "complex");
  CHECK(a.payload.requires_prolex);
  REQUIRE(a.payload.parameters.at("actions").as_array().size() == 2);
  auto r = o.planner.plan(a.payload, 2);
  INFO(json::serialize(to_json(r.output)));
  REQUIRE(r.output.type == output_type::multi_tool_plan);
  REQUIRE(r.output.plan.size() == 2);
  CHECK(r.output.plan[0].tool == "TASK_CREATE");
  CHECK(r.output.plan[0].payload.at("title") == "Relancer le fournisseur");
  CHECK(r.output.plan[0].payload.at("due_date") == "2026-11-23");
  CHECK(r.output.plan[1].tool == "DOC_CREATE_NOTE");
  CHECK(r.output.plan[1].payload.at("content") == "Les tarifs qu'il a proposés");
  CHECK(r.output.plan[1].depends_on.empty());  // "et": independent, run in parallel
  CHECK(member(r.output.plan[1], "due_date") == nullptr);
}

TEST_CASE("offline planning: then feeds the earlier result to the later step") {
  offline o(2);
  auto r = o.plan("Search the web for SQLite WAL checkpoints then write a note with what you find");
  INFO(json::serialize(to_json(r.output)));
  REQUIRE(r.output.type == output_type::multi_tool_plan);
  REQUIRE(r.output.plan.size() == 2);
  CHECK(r.output.plan[0].tool == "WEB_SEARCH");
  CHECK(r.output.plan[0].payload.at("query") == "SQLite WAL checkpoints");
  CHECK(r.output.plan[1].tool == "DOC_CREATE_NOTE");
  CHECK(r.output.plan[1].depends_on == std::vector<int>{1});
  CHECK(r.output.plan[1].payload.at("content") == "{{ step_1.result }}");
  CHECK(r.output.plan[1].payload.at("title") == "Result: SQLite WAL checkpoints");  // "with what you find" is not a title
}

TEST_CASE("offline planning: one action is not cut at a plain and") {
  offline o(2);
  auto a = o.analyze("Crée une tâche pour réviser et valider la documentation");
  CHECK_FALSE(a.payload.parameters.contains("actions"));
  auto cuts = kimmy_detail::split_actions("le site est down, verifie les serveurs stp", kimmy_detail::action_split());
  CHECK(cuts.size() == 2);  // cut, then kept whole: one untitled HEALTHCHECK_RUN twice
  CHECK(o.plan("Le site est down, vérifie les serveurs stp").output.type == output_type::tool_call);
}

TEST_CASE("offline planning: the catalogue's keywords choose client workflows and reports") {
  offline o(3);
  auto report = o.plan("Génère le rapport du mois pour le client Umbrella");
  INFO(json::serialize(to_json(report.output)));
  REQUIRE(report.output.type == output_type::tool_call);
  CHECK(report.output.plan[0].tool == "CLIENT_MONTHLY_REPORT");
  CHECK(report.output.plan[0].payload.at("client_name") == "Umbrella");
  CHECK(report.output.plan[0].payload.at("month") == 11);
  CHECK(report.output.plan[0].payload.at("year") == 2026);

  auto onboarding = o.plan("Start onboarding for our new customer Hooli");  // no contact e-mail: asked, not invented
  REQUIRE(onboarding.output.type == output_type::clarification);
  CHECK(onboarding.output.questions.front().find("e-mail") != std::string::npos);
  auto with_mail = o.plan("Start onboarding for our new customer Hooli, contact Gavin Belson gavin@hooli.com");
  REQUIRE(with_mail.output.type == output_type::tool_call);
  CHECK(with_mail.output.plan[0].tool == "CLIENT_ONBOARDING");
  CHECK(with_mail.output.plan[0].payload.at("contact_email") == "gavin@hooli.com");
  CHECK(with_mail.output.plan[0].payload.at("contact_name") == "Gavin Belson");

  auto costs = o.plan("cost report for last month");
  REQUIRE(costs.output.type == output_type::tool_call);
  CHECK(costs.output.plan[0].tool == "COST_REPORT_RUN");
  CHECK(costs.output.plan[0].payload.at("start_date") == "2026-10-01");
  CHECK(costs.output.plan[0].payload.at("end_date") == "2026-10-31");

  auto weekly = o.plan("Fais le résumé de la semaine");
  REQUIRE(weekly.output.type == output_type::tool_call);
  CHECK(weekly.output.plan[0].tool == "WEEKLY_SUMMARY");
}

TEST_CASE("offline planning: entities come from the text, never invented") {
  offline o(3);
  auto clone = o.plan("Clone https://github.com/acme/widgets.git stp");
  INFO(json::serialize(to_json(clone.output)));
  REQUIRE(clone.output.type == output_type::tool_call);
  CHECK(clone.output.plan[0].tool == "GIT_CLONE");
  CHECK(clone.output.plan[0].payload.at("repo_url") == "https://github.com/acme/widgets.git");

  auto meeting = o.plan("Planifie une réunion avec l'équipe produit demain à 14h pendant une heure");
  REQUIRE(meeting.output.type == output_type::tool_call);
  CHECK(meeting.output.plan[0].payload.at("duration_minutes") == 60);
  CHECK(meeting.output.plan[0].payload.at("summary").as_string().find("heure") == json::string::npos);
  auto call = o.analyze("Schedule a call with Sarah on Friday at 3pm for 30 minutes");
  CHECK(call.payload.parameters.at("duration_minutes") == 30);
  CHECK(call.payload.parameters.at("title").as_string().find("30") == json::string::npos);
  CHECK(call.payload.parameters.at("people") == json::array{"Sarah"});

  auto weather = o.analyze("Il fait beau aujourd'hui");
  CHECK(weather.payload.parameters.at("due_date").is_null());
  auto quoted = o.analyze("Ajoute une tâche : Regarder le film « Lundi matin »");
  CHECK(quoted.payload.parameters.at("due_date").is_null());

  auto note = o.analyze("Note : facture Globex de 1 200 € et $300 de frais, à payer avant le 30");
  REQUIRE(note.payload.parameters.contains("amounts"));
  CHECK(note.payload.parameters.at("amounts").as_array().size() == 2);
  CHECK(note.payload.parameters.at("amounts").as_array()[0].at("value") == 1200.0);
  CHECK(note.payload.parameters.at("amounts").as_array()[1].at("currency") == "USD");

  auto structuring = o.analyze("Can you turn my meeting notes into a clean outline with headings?");
  CHECK(structuring.payload.parameters.at("title").is_null());
  auto task = o.analyze("Crée une tâche pour relancer Paul");
  CHECK_FALSE(task.payload.parameters.contains("emails"));
  CHECK_FALSE(task.payload.parameters.contains("amounts"));
  CHECK_FALSE(task.payload.parameters.contains("period_start"));
}

TEST_CASE("offline planning: the vocabulary's actions section is checked") {
  auto bad = kimmy_detail::parse_vocabulary("rules: []\nactions: {sequence: '(puis)', dependent: x, parallel: y, filler: z, verb: v}\n", "t.yml");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().message.find("non-capturing") != std::string::npos);
  auto missing = kimmy_detail::parse_vocabulary("rules: []\nactions: {sequence: a}\n", "t.yml");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().message.find("actions.dependent") != std::string::npos);
}

TEST_CASE("offline planning: system questions are answered from opex's configuration, with sources") {
  offline o(2);
  auto levels = o.plan("Which autonomy levels exist and what may each do?");
  INFO(levels.output.content);
  REQUIRE(levels.output.type == output_type::answer);
  CHECK(levels.note.rule == "knowledge");
  CHECK(levels.output.content.find("autonomy.yml") != std::string::npos);
  CHECK(levels.output.content.find("0 à 3") != std::string::npos);

  auto quota = o.plan("Combien de recherches web peux-tu faire par jour ?");
  INFO(quota.output.content);
  CHECK(quota.output.content.find("100") != std::string::npos);
  CHECK(quota.output.content.find("tools.yml WEB_SEARCH") != std::string::npos);

  auto steps = o.plan("What's the maximum number of steps in a plan?");
  INFO(steps.output.content);
  CHECK(steps.output.content.find("10 steps") != std::string::npos);

  auto unknown = o.plan("Quelle est la capitale de l'Australie ?");
  INFO(unknown.output.content);
  REQUIRE(unknown.output.type == output_type::answer);
  CHECK(unknown.output.content.find("Je ne sais pas") != std::string::npos);
}

TEST_CASE("offline planning: questions the configuration does not answer are answered from opex's docs") {
  offline o(2);
  auto keys = o.plan("How are idempotency keys scoped?");
  INFO(keys.output.content);
  REQUIRE(keys.output.type == output_type::answer);
  CHECK(keys.note.rule == "knowledge");
  CHECK(keys.output.content.rfind("From opex's documentation: ", 0) == 0);
  CHECK(keys.output.content.find("scoped by tenant") != std::string::npos);
  CHECK(keys.output.content.find("(source: docs/durability.md § Idempotency keys)") != std::string::npos);
  CHECK(keys.output.content.find('`') == std::string::npos);  // plain text, not Markdown

  // The configuration still answers what it knows, before the docs.
  auto levels = o.plan("Which autonomy levels exist and what may each do?");
  CHECK(levels.output.content.find("autonomy.yml") != std::string::npos);
}

TEST_CASE("offline planning: Markdown is cut into sections, reference documents are read from files") {
  auto docs = markdown_documents("guide.md",
                                 "# Guide\n\nIntro text.\n\n## Refunds\n\nRefunds are issued within 14 days.\n\n"
                                 "```\n# not a heading\n```\n\n## Empty\n\n### Shipping\nParcels leave on Mondays.\n",
                                 documentation_collection);
  REQUIRE(docs.size() == 3);  // "Empty" has no text
  CHECK(docs[0].source == "guide.md § Guide");
  CHECK(docs[1].title == "Guide — Refunds");
  CHECK(docs[1].source == "guide.md § Refunds");
  CHECK(docs[1].body.find("# not a heading") != std::string::npos);
  CHECK(docs[2].source == "guide.md § Shipping");
  CHECK(docs[2].collection == "documentation");

  test::temp_dir dir;
  {
    std::ofstream(dir.file("handbook.md")) << "# Handbook\n\n## Refund policy\n\nCustomers get refunds within 14 days "
                                               "of the purchase, on the card they paid with.\n";
    std::ofstream(dir.file("notes.bin")) << "not read: not .md or .txt";
  }
  std::vector<std::string> unreadable;
  auto files = file_documents({dir.path.string(), dir.file("missing.md")}, unreadable);
  REQUIRE(files.size() == 1);
  CHECK(files[0].source == "handbook.md § Refund policy");
  CHECK(unreadable == std::vector<std::string>{dir.file("missing.md")});

  auto index = connectors::open_knowledge_index().value();
  index->add(files);
  auto hits = index->search("What is the refund policy for customers?", 3, documentation_collection);
  auto text = document_answer(hits, false);
  REQUIRE(text);
  CHECK(*text == "From opex's documentation: Customers get refunds within 14 days of the purchase, on the card "
                 "they paid with. (source: handbook.md § Refund policy)");
  CHECK_FALSE(document_answer(index->search("What is the capital of Australia?", 3, documentation_collection), false));
  CHECK(index->search("refund policy", 3, configuration_collection).empty());
}

TEST_CASE("offline planning: a client's workflow runs by its name, resolved against the workflows catalogue") {
  // Without a workflows catalogue the name is passed on (opex's CLIENT_WORKFLOW_RUN takes a
  // workflow_id or a workflow_name).
  offline o(3);
  auto by_name = o.plan("Lance le workflow relances pour le client Dupont");
  INFO(json::serialize(to_json(by_name.output)));
  REQUIRE(by_name.output.type == output_type::tool_call);
  CHECK(by_name.output.plan[0].tool == "CLIENT_WORKFLOW_RUN");
  CHECK(by_name.output.plan[0].payload.at("client_name") == "Dupont");
  CHECK(by_name.output.plan[0].payload.at("workflow_name") == "relances");

  // The reference opex_workflows.yml, read in place.
  auto workflows = load_packaged_workflows(std::string(OPEX_REFERENCE_DIR) + "/config/opex_workflows.yml");
  REQUIRE(workflows.ok());
  o.cfg.workflows = std::move(workflows).value();
  auto pro = o.plan("Lance le Pack Pro pour le client Dupont");
  INFO(json::serialize(to_json(pro.output)));
  REQUIRE(pro.output.type == output_type::tool_call);
  CHECK(pro.output.plan[0].tool == "CLIENT_WORKFLOW_RUN");
  CHECK(pro.output.plan[0].payload.at("workflow_id") == "331");
  CHECK(pro.output.plan[0].payload.at("workflow_name") == "Pack Pro");

  auto unknown = o.plan("Lance le workflow relances pour le client Dupont");
  INFO(json::serialize(to_json(unknown.output)));
  REQUIRE(unknown.output.type == output_type::clarification);
  CHECK(unknown.output.questions.front().find("relances") != std::string::npos);
  CHECK(unknown.output.questions.front().find("Pack Basic (330)") != std::string::npos);

  auto bad = parse_packaged_workflows("client_workflows:\n  - name: No id\n", "w.yml");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().message.find("client_workflows[0]") != std::string::npos);
}

TEST_CASE("offline planning: an event named by its day or whom it is with is found among the tenant's events") {
  offline o(2);
  const json::object items{
    {"tasks", json::array{}},
    {"notes", json::array{}},
    {"events", json::array{
      json::object{{"id", "evt_1"}, {"title", "Réunion budget"}, {"start", "2026-11-19T14:00:00+01:00"}},
      json::object{{"id", "evt_2"}, {"title", "Call with Paul"}, {"start", "2026-11-20T10:00:00+01:00"}},
      json::object{{"id", "evt_3"}, {"title", "Point avec Paul"}, {"start", "2026-11-24T09:00:00+01:00"}}}}};
  auto plan = [&](const std::string& text) { return o.planner.plan(o.analyze(text).payload, 2, &items); };

  auto prepare = plan("Crée une tâche pour préparer ma réunion de jeudi");
  INFO(json::serialize(to_json(prepare.output)));
  REQUIRE(prepare.output.type == output_type::tool_call);
  CHECK(prepare.output.plan[0].tool == "TASK_CREATE");
  CHECK(prepare.output.plan[0].payload.at("notes") == "Événement « Réunion budget », 2026-11-19T14:00:00+01:00 (evt_1)");

  // A note about the event ends with it; a task or a note that names it goes to Prolex.
  CHECK(o.analyze("Crée une tâche pour préparer ma réunion de jeudi").decision.requires_prolex);
  auto note = plan("Note pour ma réunion de jeudi : apporter les chiffres du trimestre");
  INFO(json::serialize(to_json(note.output)));
  REQUIRE(note.output.type == output_type::tool_call);
  CHECK(note.output.plan[0].tool == "DOC_CREATE_NOTE");
  CHECK(std::string(note.output.plan[0].payload.at("content").as_string()).ends_with("(evt_1)"));

  auto when = plan("When is my call with Paul on Friday?");
  INFO(json::serialize(to_json(when.output)));
  REQUIRE(when.output.type == output_type::answer);
  CHECK(when.output.content.find("evt_2") != std::string::npos);

  // Kimmy never answers it itself: only Prolex reads the tenant's events.
  auto asked = o.analyze("Quand est ma réunion avec Paul ?");
  CHECK(asked.decision.requires_prolex);
  CHECK_FALSE(asked.decision.handled_directly);
  auto several = plan("Quand est ma réunion avec Paul ?");
  INFO(json::serialize(to_json(several.output)));
  REQUIRE(several.output.type == output_type::clarification);
  CHECK(several.output.questions.front().find("Call with Paul") != std::string::npos);
  CHECK(several.output.questions.front().find("Point avec Paul") != std::string::npos);

  auto none = plan("Quand est ma réunion de lundi ?");
  REQUIRE(none.output.type == output_type::clarification);
  CHECK(none.output.questions.front().find("aucun événement le 2026-11-23") != std::string::npos);
  // For a task the event is context: not found, the task is planned without it.
  auto task = plan("Crée une tâche pour préparer ma réunion de lundi");
  REQUIRE(task.output.type == output_type::tool_call);
  CHECK_FALSE(task.output.plan[0].payload.contains("notes"));
  CHECK_FALSE(o.analyze("Crée une tâche pour préparer la démo demain").payload.parameters.contains("event_ref"));

  // A new event is not a reference; neither is an event with nothing to find it by.
  CHECK_FALSE(o.analyze("Planifie une réunion avec Paul jeudi à 14h").payload.parameters.contains("event_ref"));
  CHECK_FALSE(o.analyze("Crée une tâche pour préparer la réunion").payload.parameters.contains("event_ref"));
}
