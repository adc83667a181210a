// The n8n connector (target type `n8n_api`, operation in target.name): n8n's public REST API
// (/api/v1, X-N8N-API-KEY) for workflows, tags and executions, and its internal REST API
// (/rest, owner login) to run a workflow with test data and to list credentials. The
// guardrails (AUTO_PROLEX_ names and tag, sandbox, review -> inactive, promotion checks) are
// applied by the Proxy Master before any call; this connector only carries out what passed.
// docs/connectors.md describes every operation; tested against n8n 1.123.81 on loopback.
#pragma once

#include "opex/config.hpp"
#include "opex/connectors/connector.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <memory>
#include <string>
#include <vector>

namespace opex::connectors {

class http_client;
class llm_service;

/// The operation an N8N_* tool runs by default ("N8N_WORKFLOW_TEST" -> "workflow_test"), "" for
/// any other tool: the one map of the engine's routing and the connector.
std::string_view n8n_operation_for(std::string_view tool_id) noexcept;

struct n8n_connector_options {
  n8n_settings settings;
  std::shared_ptr<http_client> http;
  std::shared_ptr<const llm_service> llm;  ///< designs through a model when set (may be null)
  std::string design_llm;                  ///< endpoint name ("" = the default)
};

/// Operations (tool -> operation) and their step data:
/// - list_workflows (N8N_LIST_WORKFLOWS) {active?, name?, tags?, limit? (default 100)} ->
///   {"instance", "count", "workflows": [{"id", "name", "active", "tags", "node_count",
///   "created_at", "updated_at"}]}
/// - workflow_upsert (N8N_WORKFLOW_UPSERT) {workflow_name, spec|workflow_json, workflow_id?,
///   target|environment, tags, active, mode create|update|create_or_update} -> {"instance",
///   "workflow_id", "workflow_name", "status": created|updated, "active", "tags", "node_count",
///   "url"}. CONFLICT (create of an existing name), NOT_FOUND (update of a missing one),
///   PAYLOAD_INVALID (no spec to create from).
/// - workflow_test (N8N_WORKFLOW_TEST) {workflow_id|workflow_name, test_data?, test_scenarios?
///   [{name, input, expected_output?}], validate_output?, expect?, timeout_seconds? (60)}: runs
///   the workflow once per scenario with the input pinned on its trigger node, then reads the
///   execution -> {"instance", "workflow_id", "workflow_name", "test_status": "success",
///   "execution_id", "status", "duration_ms", "last_node", "output": [items of the last node],
///   "scenarios": [...]}. A failed run or an unmet expectation is TOOL_EXECUTION_FAILED with the
///   same fields and "errors": [{"node", "message"}]; a run still going after timeout_seconds
///   is TIMEOUT. Needs the instance's owner login.
/// - workflow_promote (N8N_WORKFLOW_PROMOTE) {workflow_name|workflow_id, from (sandbox), to
///   (production), backup_existing, activate_immediately, rollback_on_error}: copies the
///   workflow to the instance serving `to` (or, when one instance serves both, tags it with the
///   instance's production_tag); activates it only when activate_immediately and the target
///   instance's allow_activation -> {"status": "promoted", "mode": copy|tag, "source",
///   "target", "active", "backup"?}.
/// - workflow_design (N8N_WORKFLOW_DESIGN) {goal, workflow_name?, trigger_type?, steps?,
///   inputs?, outputs?, constraints.max_nodes?, tags?} -> {"spec": {name, nodes, connections,
///   settings}, "workflow_name", "node_count", "designed_by": llm|template, "credentials_used",
///   "notes"}: through the LLM when one is configured and its design passes the checks (node
///   count <= max_nodes, credentials among the instance's existing ones), else from templates.
/// Errors common to all: CONNECTOR_UNAVAILABLE (no instance for the environment, unknown
/// operation), SECRET_NOT_FOUND (a key or password reference resolves to nothing),
/// CONNECTION_FAILED / TIMEOUT, HTTP_ERROR {status, body, message}.
class n8n_connector final : public connector {
public:
  explicit n8n_connector(n8n_connector_options options);
  ~n8n_connector() override;
  n8n_connector(const n8n_connector&) = delete;
  n8n_connector& operator=(const n8n_connector&) = delete;

  cancel_handle call(const tool_definition& tool, const boost::json::object& payload, const call_context& ctx,
                     call_completion done) override;

  /// "n8n:<instance>" of the instance the tool's default environment resolves to.
  std::string breaker_key(const tool_definition& tool) const override;

  /// The template design for a payload (no model): what workflow_design falls back to.
  static boost::json::object template_design(const boost::json::object& payload, int max_nodes);

  /// Checks a designed workflow: nodes (name, type, typeVersion, position, parameters),
  /// connections between existing nodes, at most `max_nodes` nodes, credentials only among
  /// `credential_ids`. Returns the problems (empty = valid).
  static std::vector<std::string> check_design(const boost::json::object& spec, int max_nodes,
                                               const std::vector<std::string>& credential_ids);

private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

} // namespace opex::connectors
