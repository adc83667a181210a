// JSON Schema (draft-07) validation with valijson over Boost.JSON values. opex's schemas are
// embedded in the binary (schemas/); catalogue payload schemas may also come from files.
#pragma once

#include "opex/error.hpp"

#include <boost/json/value.hpp>

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace opex {

/// Well-known embedded schema ids.
namespace schema_ids {
inline constexpr std::string_view kimmy_payload = "schemas/kimmy_payload.schema.json";
inline constexpr std::string_view prolex_output = "schemas/prolex_output.schema.json";
inline constexpr std::string_view journal_entry = "schemas/journal_entry.schema.json";
inline constexpr std::string_view step_result = "schemas/step_result.schema.json";
inline constexpr std::string_view request_result = "schemas/request_result.schema.json";
inline constexpr std::string_view error = "schemas/error.schema.json";
inline constexpr std::string_view opex_config = "schemas/config/opex_config.schema.json";
inline constexpr std::string_view intake_request = "schemas/intake_request.schema.json";
} // namespace schema_ids

/// A compiled set of schemas keyed by path. Compiled once at start-up; `validate` is
/// thread-safe (each call uses its own valijson validator).
class schema_registry {
public:
  /// A registry holding every embedded schema (schemas/**.schema.json). The embedded payload
  /// schemas declare the reference path they supersede (`x-opex-supersedes`), and are found
  /// under that path too.
  static std::shared_ptr<schema_registry> with_embedded();

  schema_registry();
  ~schema_registry();
  schema_registry(const schema_registry&) = delete;
  schema_registry& operator=(const schema_registry&) = delete;

  /// Adds (or replaces) a schema under `id`. Errors: VALIDATION_ERROR when the schema cannot
  /// be compiled.
  result<bool> add(std::string id, const boost::json::value& schema);

  /// Loads a schema file under `id`. Errors: CONFIG_ERROR, INVALID_JSON, VALIDATION_ERROR.
  result<bool> add_file(std::string id, const std::string& file_path);

  /// True when a schema is registered under `id` (directly or as a superseded path).
  bool contains(std::string_view id) const;

  /// The id a reference path resolves to (itself, or the opex schema superseding it).
  std::string resolve(std::string_view id) const;

  /// Validates `value`. Returns the list of violations (empty = valid), each as
  /// "<json pointer>: <reason>". An unknown schema id yields one violation saying so.
  std::vector<std::string> validate(std::string_view id, const boost::json::value& value) const;

  /// validate() wrapped as a VALIDATION_ERROR with details {"schema": id, "errors": [..]}.
  error_info check(std::string_view id, const boost::json::value& value,
                   std::string_view what) const;

  /// The parsed JSON of a schema, or nullptr.
  const boost::json::value* document(std::string_view id) const;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// The embedded files (schemas and default policy YAML): path -> contents.
std::string_view embedded_file(std::string_view path);

/// The embedded files whose path starts with `prefix` ("docs/"): {path, contents}, in path order.
std::vector<std::pair<std::string_view, std::string_view>> embedded_files_under(std::string_view prefix);

} // namespace opex
