// What Kimmy's and Prolex's model modes accept as a model's answer (docs/llm.md, "The exchange").
// Plain logic, no actors.
#pragma once

#include "opex/error.hpp"

#include <boost/json/value.hpp>

#include <string_view>

namespace opex::actors {

/// Reads a model's answer as one bare JSON object: surrounding whitespace is allowed, prose,
/// Markdown or a code fence are not. Errors: OUTPUT_INVALID {errors: [reason]}.
result<boost::json::value> parse_bare_json(std::string_view text);

} // namespace opex::actors
