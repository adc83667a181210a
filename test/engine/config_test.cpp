// Loading configuration: the reference Prolex v4 files unchanged, opex's own defaults, and
// opex.yml validation (unknown keys refused with their path).
#include "opex/config.hpp"
#include "opex/contracts.hpp"
#include "opex/json_util.hpp"
#include "opex/schema_registry.hpp"

#include "support/temp_dir.hpp"

#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include <unistd.h>

using namespace opex;
namespace json = boost::json;

namespace {
const std::string ref = OPEX_REFERENCE_DIR;

std::string write_temp(const std::string& name, const std::string& text) {
  auto path = std::filesystem::temp_directory_path() / ("opex-config-test-" + std::to_string(::getpid()) + "-" + name);
  std::ofstream(path) << text;
  return path.string();
}
} // namespace

TEST_CASE("config: the reference tools.yml loads unchanged with its 27 tools") {
  auto cat = tool_catalogue::load_file(ref + "/rag/tools/tools.yml");
  REQUIRE(cat.ok());
  CHECK(cat->tools().size() == 27);
  const auto* task = cat->find("TASK_CREATE");
  REQUIRE(task);
  CHECK(task->category == "productivity");
  CHECK(task->target.type == "webhook");
  CHECK(task->target.text("url") == "https://n8n.automatt.ai/webhook/task-create");
  CHECK(task->auto_allowed_levels == std::vector<int>{1, 2, 3});
  const auto* list = cat->find("N8N_LIST_WORKFLOWS");
  REQUIRE(list);
  CHECK(list->target.type == "mcp_tool");
  CHECK(list->target.text("mcp_server") == "n8n");  // as the reference writes it
  CHECK(list->target.text("tool_name") == "list_workflows");
  const auto* restore = cat->find("RESTORE_BACKUP");
  REQUIRE(restore);
  CHECK(restore->auto_allowed_levels.empty());
  CHECK(restore->constraints.requires_confirmation);
  CHECK(cat->find("WEB_SEARCH")->constraints.max_executions_per_day == 100);
  CHECK(cat->find("GIT_CLONE")->constraints.allowed_environments == std::vector<std::string>{"dev", "staging"});
}

TEST_CASE("config: the reference system.yml and autonomy.yml load unchanged") {
  auto sys = system_config::load_file(ref + "/config/system.yml");
  REQUIRE(sys.ok());
  CHECK(sys->kimmy_mode == "quick_actions");
  CHECK(sys->min_confidence_for_direct_action == Approx(0.85));
  CHECK(sys->max_cost_per_request_usd == Approx(0.50));
  CHECK(sys->max_execution_time_minutes == 10);
  CHECK(sys->max_plan_steps == 10);
  CHECK(sys->sensitive_intents.size() == 7);
  CHECK(sys->high_risk_tools.size() == 4);
  CHECK(sys->sensitive_keywords.size() == 5);
  CHECK(sys->sensitive_keywords.at("architecture").front() == "architecture");
  auto aut = autonomy_config::load_file(ref + "/config/autonomy.yml");
  REQUIRE(aut.ok());
  CHECK(aut->current_level == 2);
  CHECK(aut->levels.size() == 4);
  for (int l = 0; l <= 3; ++l)
    CHECK(aut->find(l) != nullptr);
  // all_level_N inheritance is expanded into tool ids.
  const auto& l2 = aut->find(2)->allowed_tools;
  CHECK(std::find(l2.begin(), l2.end(), "LOG_APPEND") != l2.end());
  CHECK(std::find(l2.begin(), l2.end(), "TASK_CREATE") != l2.end());
  const auto& l1 = aut->find(1)->allowed_tools;
  CHECK(std::find(l1.begin(), l1.end(), "TASK_CREATE") == l1.end());
  CHECK(aut->find(3)->max_tools_per_plan == 10);
  CHECK(aut->daily_limits.at("WEB_SEARCH") == 100);
  CHECK(aut->always_require_confirmation.size() == 3);
}

TEST_CASE("config: the 13 canonical intents are the reference schema's, aliases map onto them") {
  auto schema = read_json_file(ref + "/schemas/kimmy_payload.schema.json");
  REQUIRE(schema.ok());
  const auto& en = schema->at("properties").at("intent").at("enum").as_array();
  REQUIRE(en.size() == 13);
  REQUIRE(canonical_intents().size() == 13);
  for (std::size_t i = 0; i < en.size(); ++i)
    CHECK(en[i].as_string() == canonical_intents()[i]);
  auto vocab = read_yaml_file(ref + "/schemas/intents/kimmy_intents.yml");
  REQUIRE(vocab.ok());
  int aliases = 0;
  for (const auto& group : vocab->as_object())
    if (group.value().is_array())
      for (const auto& item : group.value().as_array())
        if (item.is_object() && item.as_object().contains("id")) {
          auto id = std::string(item.at("id").as_string());
          auto c = canonical_intent(id);
          if (c)
            ++aliases;
        }
  CHECK(aliases >= 8);
  CHECK_FALSE(canonical_intent("NOT_AN_INTENT"));
}

TEST_CASE("config: the built-in default configuration loads") {
  auto cfg = load_config("");
  REQUIRE(cfg.ok());
  CHECK(cfg->catalogue.find("TASK_CREATE")->target.type == "builtin");
  CHECK(cfg->catalogue.find("NOOP") != nullptr);
  CHECK(cfg->autonomy_level == 2);
  CHECK(cfg->prolex.planning.at("task_create").tool == "TASK_CREATE");
  CHECK(cfg->execution.retry.maximum_attempts == 3);
  CHECK(cfg->execution.retry.initial_interval_ms == Approx(1000));
}

TEST_CASE("config: opex.yml pointing at the reference files") {
  auto path = write_temp("ref.yml", "catalogue: " + ref + "/rag/tools/tools.yml\nsystem: " + ref
                                      + "/config/system.yml\nautonomy: " + ref
                                      + "/config/autonomy.yml\nautonomy_level: 3\ntargets:\n  mode: webhook\n"
                                        "  webhook_base_url: http://127.0.0.1:9\n  max_connections_per_origin: 8\n"
                                        "  idle_connection_timeout_ms: 0\n");
  auto cfg = load_config(path);
  REQUIRE(cfg.ok());
  CHECK(cfg->catalogue.tools().size() == 27);
  CHECK(cfg->autonomy_level == 3);
  CHECK(cfg->targets.mode == "webhook");
  CHECK(cfg->targets.webhook_base_url == "http://127.0.0.1:9");
  CHECK(cfg->targets.max_connections_per_origin == 8);
  CHECK(cfg->targets.idle_connection_timeout_ms == 0);
  CHECK(load_config("")->targets.max_connections_per_origin == 64);
  auto zero = load_config(write_temp("pool.yml", "targets:\n  max_connections_per_origin: 0\n"));
  REQUIRE_FALSE(zero.ok());
  CHECK(json::serialize(zero.error().details).find("max_connections_per_origin") != std::string::npos);
}

TEST_CASE("config: unknown keys are refused with their path") {
  auto bad = load_config(write_temp("bad.yml", "targets:\n  mdoe: builtin\n"));
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().code == error_code::config_error);
  auto text = json::serialize(bad.error().details);
  CHECK(text.find("mdoe") != std::string::npos);
  auto level = load_config(write_temp("level.yml", "autonomy_level: 7\n"));
  REQUIRE_FALSE(level.ok());
  CHECK(level.error().message.find("autonomy_level") != std::string::npos);
  auto webhook = load_config(write_temp("wh.yml", "targets:\n  mode: webhook\n"));
  REQUIRE_FALSE(webhook.ok());
  auto tools = tool_catalogue::load_text("- id: X\n  category: core\n  target: {type: builtin, name: noop}\n  taget: 1\n", "t.yml");
  REQUIRE_FALSE(tools.ok());
  CHECK(tools.error().details.at("key") == "tools[0].taget");
  auto yaml = load_config(write_temp("yaml.yml", "targets: [unclosed\n"));
  REQUIRE_FALSE(yaml.ok());
  CHECK(yaml.error().details.contains("line"));
}

TEST_CASE("config: execution.scheduler_moderate_poll_attempts, 0 unless set, never negative") {
  CHECK(load_config("")->execution.scheduler_moderate_poll_attempts == 0);
  auto set = load_config(write_temp("poll.yml", "execution:\n  scheduler_moderate_poll_attempts: 500\n"));
  REQUIRE(set.ok());
  CHECK(set->execution.scheduler_moderate_poll_attempts == 500);
  auto negative = load_config(write_temp("poll-bad.yml", "execution:\n  scheduler_moderate_poll_attempts: -1\n"));
  REQUIRE_FALSE(negative.ok());
  CHECK(json::serialize(negative.error().details).find("scheduler_moderate_poll_attempts") != std::string::npos);
}

TEST_CASE("config: storage.checkpoint, background unless set to on_commit, other values refused") {
  auto none = load_config("");
  CHECK(none->storage.checkpoint == opex_config::checkpoint_mode::background);
  CHECK(none->storage.background_checkpoint_pages() == 1000);
  auto set = load_config(write_temp("ckpt.yml", "storage:\n  checkpoint: on_commit\n  checkpoint_pages: 200\n"));
  REQUIRE(set.ok());
  CHECK(set->storage.checkpoint == opex_config::checkpoint_mode::on_commit);
  CHECK(set->storage.checkpoint_pages == 200);
  CHECK(set->storage.background_checkpoint_pages() == 0);
  auto bad = load_config(write_temp("ckpt-bad.yml", "storage:\n  checkpoint: sometimes\n"));
  REQUIRE_FALSE(bad.ok());
  CHECK(json::serialize(bad.error().details).find("checkpoint") != std::string::npos);
}

TEST_CASE("config: each section is checked by its own schema fragment, errors name the YAML line and column") {
  auto r = load_config_text("autonomy_level: 2\nexecution:\n  retry:\n    bogus: 1\n  max_parallelism: \"x\"\n"
                            "guard:\n  step_policies: 3\n",
                            "", "test.yml");
  REQUIRE_FALSE(r);
  CHECK(r.error().code == error_code::config_error);
  CHECK(r.error().message == "test.yml: invalid configuration");
  CHECK(r.error().details.at("schema") == "schemas/config/sections/execution.schema.json");
  std::vector<std::string> errors;
  for (const auto& e : r.error().details.at("errors").as_array())
    errors.emplace_back(e.as_string());
  REQUIRE(errors.size() == 3);  // the violations only, not their parents' echoes
  CHECK(errors[0] == "<root>[execution][max_parallelism]: Value type not permitted by 'type' constraint. (line 5, column 20)");
  CHECK(errors[1].starts_with("<root>[execution][retry]: Object contains a property"));
  CHECK(errors[1].ends_with("'bogus'. (line 4, column 12)"));
  CHECK(errors[2] == "<root>[guard][step_policies]: Value type not permitted by 'type' constraint. (line 7, column 18)");

  auto top = load_config_text("autonomy_level: 2\nbogus_top: 1\n", "", "test.yml");
  REQUIRE_FALSE(top);
  CHECK(top.error().details.at("schema") == "schemas/config/opex_config.schema.json");
  CHECK(top.error().details.at("errors").at(0).as_string().ends_with("'bogus_top'. (line 2, column 12)"));

  // Every section the reader table knows has its fragment, embedded.
  auto schemas = schema_registry::with_embedded();
  for (const auto* key : {"storage", "journal", "targets", "kimmy", "prolex", "execution", "circuit_breaker", "server",
                          "idempotency", "masking", "tenants", "approvals", "guard", "protected_workflows", "tool_costs",
                          "secrets", "mcp", "llm", "n8n"})
    CHECK(schemas->contains("schemas/config/sections/" + std::string(key) + ".schema.json"));
}

TEST_CASE("config: tracing, off by default; its headers are references when they look like credentials") {
  auto none = load_config_text("autonomy_level: 2\n", "", "test.yml");
  REQUIRE(none);
  CHECK(none->tracing.endpoint.empty());
  auto on = load_config_text("tracing:\n  endpoint: http://127.0.0.1:4318/v1/traces\n  headers: {authorization: env:OTLP_AUTH, x-tenant: acme}\n"
                             "  max_batch: 64\n  flush_interval_ms: 200\n  capture_content: true\n",
                             "", "test.yml");
  REQUIRE(on);
  CHECK(on->tracing.endpoint == "http://127.0.0.1:4318/v1/traces");
  CHECK(on->tracing.headers.at("authorization") == "env:OTLP_AUTH");
  CHECK(on->tracing.headers.at("x-tenant") == "acme");
  CHECK(on->tracing.max_batch == 64);
  CHECK(on->tracing.flush_interval_ms == 200);
  CHECK(on->tracing.capture_content);
  CHECK(on->tracing.service_name == "opex");
  auto literal = load_config_text("tracing:\n  endpoint: http://c/v1/traces\n  headers: {authorization: Bearer abc}\n", "", "test.yml");
  REQUIRE(!literal);
  CHECK(literal.error().code == error_code::config_error);
  CHECK(get_string(literal.error().details, "key").value_or("") == "tracing.headers.authorization");
  auto bad = load_config_text("tracing:\n  endpoint: ftp://c\n  max_batch: 0\n", "", "test.yml");
  REQUIRE(!bad);
  CHECK(bad.error().code == error_code::config_error);
}

TEST_CASE("config: prolex.knowledge.documents resolve from the configuration's folder and must exist") {
  test::temp_dir dir;
  std::ofstream(dir.file("handbook.md")) << "# Handbook\n";
  auto ok = load_config_text("prolex:\n  knowledge:\n    documents: [handbook.md]\n", dir.path.string(), "test.yml");
  REQUIRE(ok.ok());
  CHECK(ok->prolex.knowledge_documents == std::vector<std::string>{dir.file("handbook.md")});
  auto missing = load_config_text("prolex:\n  knowledge:\n    documents: [nope.md]\n", dir.path.string(), "test.yml");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().code == error_code::config_error);
  CHECK(missing.error().message.find("prolex.knowledge.documents") != std::string::npos);
  CHECK(missing.error().message.find("nope.md") != std::string::npos);
}

TEST_CASE("config: workflows loads the reference opex_workflows.yml in place") {
  auto cfg = load_config_text("workflows: " + ref + "/config/opex_workflows.yml\n", "", "test.yml");
  REQUIRE(cfg.ok());
  REQUIRE(cfg->workflows.size() >= 20);
  auto pro = std::find_if(cfg->workflows.begin(), cfg->workflows.end(), [](const auto& w) { return w.id == "331"; });
  REQUIRE(pro != cfg->workflows.end());
  CHECK(pro->name == "Pack Pro");
  CHECK(pro->category == "client_workflows");
  CHECK(pro->tool_id.empty());
  auto missing = load_config_text("workflows: nope.yml\n", "/tmp", "test.yml");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().code == error_code::config_error);
  CHECK(load_config("").value().workflows.empty());
}
