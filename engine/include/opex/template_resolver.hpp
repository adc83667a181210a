// Template placeholders in payloads ("{{ step_1.result.spec }}"), resolved on parsed JSON values,
// never on serialised text (docs/decisions.md, decision 5).
#pragma once

#include "opex/error.hpp"

#include <boost/json/value.hpp>

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace opex {

/// One placeholder found in a payload: the dotted expression inside the braces, split into
/// its root (`step_1`, `parameters`) and the rest of the path (`result.spec`).
struct placeholder {
  std::string expression;
  std::string root;
  std::string path;
};

/// Every placeholder in the strings of `payload`, recursively (keys are not templated).
/// Grammar: `{{` spaces? name(.segment)* spaces? `}}` where name is [A-Za-z_][A-Za-z0-9_]*
/// and a segment is [A-Za-z0-9_-]+ (array indices are numeric segments).
std::vector<placeholder> find_placeholders(const boost::json::value& payload);

/// The step number a root names (`step_12` -> 12), or nullopt.
std::optional<int> step_number_of(std::string_view root) noexcept;

/// How unresolved placeholders are treated.
enum class template_mode {
  /// A missing root or path fails with TEMPLATE_UNRESOLVED (plan execution).
  strict,
  /// A missing path under a known root becomes null, and object members whose value is a
  /// whole null placeholder are dropped (Prolex planning table: optional parameters).
  /// Placeholders whose root is unknown are left untouched, for a later resolution (a plan
  /// step's `{{ step_1.result }}` inside a planning-table plan).
  lenient,
};

/// Returns the root value for a placeholder root, or nullptr when unknown.
using template_lookup = std::function<const boost::json::value*(std::string_view root)>;

/// Resolves every placeholder of `payload`. A string that is exactly one placeholder becomes
/// the referenced value with its type; a placeholder inside a longer string is replaced by the
/// value's text (strings as is, other values as compact JSON).
/// Errors (strict mode): TEMPLATE_UNRESOLVED {placeholder, reason}.
result<boost::json::value> resolve_templates(const boost::json::value& payload,
                                             const template_lookup& lookup,
                                             template_mode mode = template_mode::strict);

} // namespace opex
