// What every agent shares, built once by the engine: configuration, schemas, clock, the plain
// logic of each agent, the connectors, and the handles of the long-lived actors.
#pragma once

#include "messages.hpp"

#include "kimmy/kimmy_classifier.hpp"
#include "prolex/rule_planner.hpp"
#include "proxy/proxy_checks.hpp"

#include "opex/clock.hpp"
#include "opex/config.hpp"
#include "opex/connectors/connector.hpp"
#include "opex/policies/masking.hpp"
#include "opex/schema_registry.hpp"

#include <map>
#include <memory>
#include <string>

namespace opex::actors {

/// Immutable after start-up; shared by every actor through a shared_ptr (thread-safe reads).
struct runtime {
  opex_config config;
  std::shared_ptr<schema_registry> schemas;
  std::shared_ptr<const clock> time;
  std::unique_ptr<kimmy_classifier> kimmy;
  std::unique_ptr<rule_planner> planner;
  std::unique_ptr<proxy_checker> proxy;
  policies::masking_rules masking;
  /// Connector per target type name ("webhook", "builtin").
  std::map<std::string, std::shared_ptr<connectors::connector>, std::less<>> connectors;

  /// Long-lived actors, set by spawn_agents.
  journal_actor journal;
  agent_actor prolex;
  agent_actor proxy_master;
  std::map<std::string, executor_actor, std::less<>> executors;  ///< by tool category

  /// ISO 8601 UTC now, from `time`.
  std::string now() const { return format_timestamp(time->now().utc); }
};

/// A journal entry pre-filled from the request: timestamp, agent, action_type, request_id,
/// user_id, intent (from Kimmy), metadata.autonomy_level.
journal_entry make_journal_entry(const runtime& rt, const request_context& ctx, std::string agent,
                                 std::string action_type);

/// A request_result pre-filled from the request (ids, Kimmy payload and decision, output,
/// planned_by, duration).
std::shared_ptr<request_result> make_result(const runtime& rt, const request_context& ctx);

/// The result of a refusal: status rejected, error set (timestamped).
request_outcome refusal(const runtime& rt, const request_context& ctx, error_info err);

} // namespace opex::actors
