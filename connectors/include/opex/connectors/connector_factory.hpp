// A connector type as an extension: the `target.type` it serves, the JSON Schema of its target
// mapping, and how it is built from opex.yml. Each connector folder defines one factory; the
// registry (connectors/connector_registry.cpp) lists them, one line each (docs/architecture.md,
// "Adding a connector").
#pragma once

#include "opex/clock.hpp"
#include "opex/config.hpp"
#include "opex/connectors/connector.hpp"
#include "opex/contracts.hpp"

#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>

namespace opex {
class schema_registry;
}

namespace opex::connectors {

class http_client;
class secret_store;
class llm_service;

/// What a factory may build its connector from, filled by the composition root (engine.cpp).
struct connector_environment {
  const opex_config* config = nullptr;
  std::string database;                          ///< the state database's path; folders go beside it
  std::shared_ptr<http_client> http;             ///< the pooled HTTP client every connector shares
  std::shared_ptr<const secret_store> secrets;   ///< tenants' secrets (`secret:NAME` references)
  std::shared_ptr<const clock> time;             ///< the engine's clock
  std::function<void(journal_entry)> journal;    ///< where a connector appends journal entries
  /// The model service: set by the `llm` factory when `llm.endpoints` is configured (factories
  /// run in registry order, so later ones may use it); null otherwise.
  std::shared_ptr<const llm_service> llm;
};

/// One connector type. Implementations are stateless singletons.
class connector_factory {
public:
  virtual ~connector_factory() = default;

  /// The `target.type` it serves ("webhook", "mcp_tool", ...).
  virtual std::string_view type() const noexcept = 0;

  /// JSON Schema (draft-07) of a target mapping of this type, `type` included: every catalogue
  /// and `targets.overrides` entry of this type is checked against it at start-up.
  virtual std::string_view target_schema() const noexcept = 0;

  /// Rewrites a target the schema accepted into its canonical keys (aliases such as MCP's
  /// `mcp_server` for `server`). Default: unchanged.
  virtual void normalise(tool_target& /*target*/) const {}

  /// Applies opex.yml's routing to a catalogue tool that `targets.overrides` does not name
  /// (docs/decisions.md, "Targets"): a factory rewrites or claims the target when the
  /// configuration routes the tool to its connector (targets.mode, n8n.route_tools). Called for
  /// every factory in registry order; a later factory's claim replaces an earlier one's.
  /// Default: unchanged.
  virtual void route(tool_definition& /*tool*/, const opex_config& /*config*/) const {}
  /// Whether opex.yml asks for this connector (the llm, n8n and mcp sections); tools of a type
  /// that is not configured fail with CONNECTOR_UNAVAILABLE when called.
  virtual bool configured(const opex_config& /*config*/) const { return true; }

  /// Builds the connector. Throws std::runtime_error naming what is wrong.
  virtual std::shared_ptr<connector> create(connector_environment& env) const = 0;
};

/// The connector types opex ships, in creation order.
std::span<const connector_factory* const> connector_factories() noexcept;

/// The factory of `type`, or nullptr.
const connector_factory* find_connector_factory(std::string_view type) noexcept;

/// Adds each factory's target schema to `schemas` as "target/<type>".
void add_target_schemas(schema_registry& schemas);

/// Gives every catalogue tool its target under this configuration: its `targets.overrides`
/// entry, else what the factories' route() make of it.
void route_targets(opex_config& config);

/// Checks and normalises every tool's target (the catalogue's and `targets.overrides`): its type
/// must have a factory and its mapping must match that factory's schema. Tools with an empty
/// type (nothing can run them) are left alone. Errors: CONFIG_ERROR {tool, key: "target",
/// type, errors: [..]} naming the tool and what is wrong.
error_info check_targets(opex_config& config, const schema_registry& schemas);

} // namespace opex::connectors
