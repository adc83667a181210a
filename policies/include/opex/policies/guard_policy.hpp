// The Proxy Master's per-step policies as one interface with one verdict type, run as an ordered
// chain (`guard.step_policies` in opex.yml; docs/guarded-execution.md, "Order of the checks").
// Before the chain, fixed and not configurable: the tool exists, the tenant may use it, its
// payload matches its schema.
// Adding a policy is a class in policies/src/step_policies.cpp (or a file of its own) and its
// line in the registry there.
#pragma once

#include "opex/catalogue.hpp"
#include "opex/config.hpp"
#include "opex/contracts.hpp"
#include "opex/policies/guard_context.hpp"

#include <boost/json/object.hpp>

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace opex::policies {

/// The step a policy looks at (its payload as the chain has rewritten it so far).
struct step_view {
  const tool_definition& tool;
  const boost::json::object& payload;
  const opex_config& config;
};

/// A person's review to open once the step has succeeded (an approval of kind review, which a
/// later policy can require, e.g. before an n8n promotion). Its subject is the value of
/// `subject_field` in the payload as sent (templates resolved); `reason` is shown with it, its
/// "{subject}" replaced by the subject.
struct review_request {
  std::string subject_field;
  std::string reason;
};

/// A fact to record once the step has succeeded, for later usage policies (usage.hpp): one per
/// `subject_fields` value the payload as sent has (strings only), under `kind`.
struct fact_request {
  std::string kind;
  std::vector<std::string> subject_fields;
};

/// A policy's answer for one step: refuse (`error`, the standard error with details {rule}),
/// ask a person before (`approval_reason`) or after (`review`), rewrite the payload the step
/// will send (`rewritten`), record facts once it succeeded (`facts`), or none of these (allowed).
struct guard_verdict {
  error_info error;
  std::string approval_reason;
  std::optional<boost::json::object> rewritten;
  std::optional<review_request> review;
  std::vector<fact_request> facts;  ///< recorded once the step has succeeded

  static guard_verdict refuse(error_info e) { return {std::move(e), {}, std::nullopt, std::nullopt, {}}; }
  static guard_verdict approval(std::string reason) { return {{}, std::move(reason), std::nullopt, std::nullopt, {}}; }
};

/// One per-step policy. Implementations are stateless and thread-safe.
class guard_policy {
public:
  virtual ~guard_policy() = default;
  /// The name opex.yml's `guard.step_policies` uses ("autonomy", "environment", ...).
  virtual std::string_view name() const noexcept = 0;
  virtual guard_verdict check(const step_view& step, const guard_context& g) const = 0;
};

/// The plan a usage policy looks at once the chain has run: its tools and steps (index-aligned,
/// payloads as the chain rewrote them) and its estimated cost (USD).
struct plan_view {
  std::span<const tool_definition* const> tools;
  std::span<const plan_step> steps;
  double estimated_cost_usd = 0.0;
};

/// What the usage policies need counted from the journal before they can judge a plan.
struct usage_needs {
  bool any = false;                    ///< something must be counted (else no lookup at all)
  std::vector<std::string> workflows;  ///< workflow names whose tests and reviews are looked up
};

/// A policy over what a plan would use, judged with the usage counted so far (g.usage): budgets,
/// quotas, the n8n promotion's recorded test and review. Stateless and thread-safe.
class usage_policy {
public:
  virtual ~usage_policy() = default;
  virtual std::string_view name() const noexcept = 0;
  /// Adds to `needs` what must be counted for `plan` (nothing when the policy does not apply).
  virtual void needs(const plan_view& plan, const guard_context& g, usage_needs& needs) const = 0;
  /// The refusal (COST_LIMIT_EXCEEDED, QUOTA_EXCEEDED, GUARDRAIL_VIOLATION with details
  /// {rule, step?}), or none.
  virtual error_info check(const plan_view& plan, const guard_context& g) const = 0;
};

/// Every usage policy, in the order they judge (docs/guarded-execution.md, "Order of the
/// checks"): budget, request_quota, tool_quota, n8n_promotion.
std::span<const usage_policy* const> usage_policies() noexcept;

/// Every per-step policy opex ships, in the default order.
std::span<const guard_policy* const> step_policies() noexcept;

/// The policy named `name`, or nullptr.
const guard_policy* find_step_policy(std::string_view name) noexcept;

/// The chain `names` asks for (empty = every policy in the default order). Throws
/// std::invalid_argument naming an unknown policy and the known ones.
std::vector<const guard_policy*> step_policy_chain(const std::vector<std::string>& names);

} // namespace opex::policies
