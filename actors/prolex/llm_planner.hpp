// Prolex's LLM mode (docs/llm.md): the prompt built from the catalogue (only the tools allowed
// at the request's level), the autonomy level, the constraints and the KimmyPayload; and the
// acceptance of the model's answer, which must be one bare JSON ProlexOutput that passes the
// same checks as the Proxy Master's (schema, catalogue, payload schemas, autonomy, plan
// structure, guardrails). Plain logic: the prolex_planner actor runs the dialog.
#pragma once

#include "proxy/proxy_checks.hpp"

#include "opex/config.hpp"
#include "opex/llm_messages.hpp"
#include "opex/contracts.hpp"
#include "opex/policies/guard_context.hpp"
#include "opex/schema_registry.hpp"

#include <string>
#include <string_view>
#include <vector>

#include "llm/model_answer.hpp"  // parse_bare_json, for callers of the planner

namespace opex::actors {

/// The planner. Holds references to the configuration, schemas and proxy checks (which outlive
/// it); const and thread-safe.
class llm_planner {
public:
  llm_planner(const opex_config& cfg, const schema_registry& schemas, const proxy_checker& proxy);

  /// The first question: a system prompt (role, the ProlexOutput contract, the rules, the
  /// level and environment, the tools allowed at `g.level` for `g.tenant` with their risk,
  /// approval need and payload fields) and one user message (the request's constraints and
  /// KimmyPayload as JSON). With `history` (request_history::lookup JSON, Kimmy's read of the
  /// SystemJournal) the user message also gives the user's recent requests of the intent and
  /// the tools' recent failures (docs/kimmy.md, "Context from the journal").
  llm_request request_for(const kimmy_payload& payload, const policies::guard_context& g,
                          const boost::json::object* history = nullptr) const;

  /// Accepts an answer: bare JSON, ProlexOutput schema, then the Proxy Master's checks at `g`.
  /// Returns the output, or the errors to send back (each "what: why", schema errors with
  /// their JSON pointer).
  result<prolex_output> accept(std::string_view answer, const policies::guard_context& g) const;

  /// The same as a list of errors (empty = accepted, `out` set).
  std::vector<std::string> check(std::string_view answer, const policies::guard_context& g, prolex_output& out) const;

  /// The tools offered to the model at `g` (allowed at the level, for the tenant).
  std::vector<const tool_definition*> offered_tools(const policies::guard_context& g) const;

private:
  const opex_config& cfg_;
  const schema_registry& schemas_;
  const proxy_checker& proxy_;
};

} // namespace opex::actors
