// Connector types as registered factories: each target mapping is checked by its type's schema
// at start-up, aliases are normalised, and an unknown type or a bad mapping stops the engine with
// a CONFIG_ERROR naming the tool.
#include "opex/connectors/connector_factory.hpp"
#include "opex/engine.hpp"
#include "opex/schema_registry.hpp"

#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <fstream>
#include <string>

using namespace opex;
namespace json = boost::json;

namespace {

const std::string ref = OPEX_REFERENCE_DIR;

opex_config config_of(const std::string& yaml) {
  auto cfg = load_config_text(yaml, "/tmp", "test.yml");
  REQUIRE(cfg.ok());
  return std::move(cfg).value();
}

error_info checked(opex_config& cfg) {
  schema_registry schemas;
  connectors::add_target_schemas(schemas);
  return connectors::check_targets(cfg, schemas);
}

} // namespace

TEST_CASE("connector registry: one factory per shipped target type, found by name") {
  std::vector<std::string> types;
  for (const auto* f : connectors::connector_factories())
    types.emplace_back(f->type());
  CHECK(types == std::vector<std::string>{"webhook", "builtin", "llm", "n8n_api", "mcp_tool"});
  CHECK(connectors::find_connector_factory("mcp_tool")->type() == "mcp_tool");
  CHECK(connectors::find_connector_factory("smtp") == nullptr);
  const auto empty = config_of("");
  CHECK(connectors::find_connector_factory("webhook")->configured(empty));
  CHECK_FALSE(connectors::find_connector_factory("mcp_tool")->configured(empty));
  CHECK_FALSE(connectors::find_connector_factory("llm")->configured(empty));
}

TEST_CASE("connector registry: the reference catalogue's targets pass, MCP's mcp_server becomes server") {
  auto cfg = config_of("catalogue: " + ref + "/rag/tools/tools.yml\n");
  REQUIRE_FALSE(checked(cfg));
  const auto* list = cfg.catalogue.find("N8N_LIST_WORKFLOWS");
  REQUIRE(list);
  CHECK(list->target.type == "mcp_tool");
  CHECK(list->target.text("server") == "n8n");
  CHECK_FALSE(list->target.spec.contains("mcp_server"));
  CHECK(cfg.catalogue.find("TASK_CREATE")->target.text("url").starts_with("https://"));
}

TEST_CASE("connector registry: an unknown type or a mapping its schema refuses is a CONFIG_ERROR naming the tool") {
  auto unknown = config_of("targets:\n  overrides:\n    TASK_CREATE: {type: smtp, host: mail}\n");
  auto e = checked(unknown);
  REQUIRE(e);
  CHECK(e.code == error_code::config_error);
  CHECK(e.details.at("tool") == "TASK_CREATE");
  CHECK(e.details.at("key") == "targets.overrides.TASK_CREATE");
  CHECK(e.message.find("unknown target type 'smtp'") != std::string::npos);
  CHECK(e.message.find("known: webhook, builtin, llm, n8n_api, mcp_tool") != std::string::npos);

  auto ftp = config_of("targets:\n  overrides:\n    TASK_CREATE: {type: webhook, url: 'ftp://x/y'}\n");
  e = checked(ftp);
  REQUIRE(e);
  CHECK(e.details.at("type") == "webhook");
  INFO(e.message);
  CHECK(e.message.find("[url]") != std::string::npos);

  auto extra = config_of("targets:\n  overrides:\n    TASK_CREATE: {type: builtin, name: task_create, url: 'http://x'}\n");
  e = checked(extra);
  REQUIRE(e);
  CHECK(e.details.at("errors").as_array().size() >= 1);

  auto fine = config_of("targets:\n  overrides:\n    TASK_CREATE: {type: builtin, name: task_create}\n");
  CHECK_FALSE(checked(fine));
}

TEST_CASE("connector registry: the engine refuses to start on a bad target, with the error") {
  test::temp_dir dir;
  std::ofstream(dir.file("opex.yml")) << "targets:\n  overrides:\n    NOTE_X: {type: webhook}\n";
  engine_options o;
  o.config_path = dir.file("opex.yml");
  o.database = dir.file("opex.db");
  try {
    engine eng(o);
    FAIL("the engine started");
  } catch (const engine_error& e) {
    CHECK(e.info.code == error_code::config_error);
    CHECK(e.info.details.at("tool") == "NOTE_X");
    CHECK(std::string(e.what()).find("url") != std::string::npos);
  }
}

TEST_CASE("connector registry: each factory routes the tools opex.yml sends to it, overrides first") {
  const std::string refs = "catalogue: " + ref + "/rag/tools/tools.yml\nsystem: " + ref + "/config/system.yml\nautonomy: "
                           + ref + "/config/autonomy.yml\n";
  auto builtin = config_of(refs + "targets: {mode: builtin}\n");
  connectors::route_targets(builtin);
  CHECK(builtin.catalogue.find("TASK_CREATE")->target.type == "builtin");
  CHECK(builtin.catalogue.find("TASK_CREATE")->target.text("name") == "task_create");
  CHECK(builtin.catalogue.find("WEB_SEARCH")->target.type == "webhook");  // no builtin serves it

  auto webhook = config_of(refs + "targets: {mode: webhook, webhook_base_url: 'http://127.0.0.1:5678', n8n_webhooks: test}\n");
  connectors::route_targets(webhook);
  CHECK(webhook.catalogue.find("TASK_CREATE")->target.text("url") == "http://127.0.0.1:5678/webhook-test/task-create");

  auto overridden = config_of(refs + "targets:\n  mode: builtin\n  overrides:\n    TASK_CREATE: {type: webhook, url: 'http://127.0.0.1:9/x'}\n");
  connectors::route_targets(overridden);
  CHECK(overridden.catalogue.find("TASK_CREATE")->target.type == "webhook");
  CHECK(overridden.catalogue.find("TASK_CREATE")->target.text("url") == "http://127.0.0.1:9/x");

  auto n8n = config_of(refs + "n8n:\n  instances:\n    sandbox: {base_url: 'http://127.0.0.1:5678', api_key: 'env:N8N_KEY'}\n");
  connectors::route_targets(n8n);
  CHECK(n8n.catalogue.find("N8N_WORKFLOW_TEST")->target.type == "n8n_api");
  CHECK(n8n.catalogue.find("N8N_WORKFLOW_TEST")->target.text("operation") == "workflow_test");
  CHECK(n8n.catalogue.find("TASK_CREATE")->target.type == "builtin");
}
