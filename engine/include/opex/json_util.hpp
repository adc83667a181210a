// Small Boost.JSON helpers shared by the engine: strict parsing into the standard error, typed
// member access without exceptions, and YAML to JSON conversion for configuration files.
#pragma once

#include "opex/error.hpp"

#include <boost/json/value.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace YAML {
class Node;
}

namespace opex {

/// Parses JSON text strictly (I-JSON, RFC 7493): duplicate member names, numbers beyond a
/// double's range (`1e999`), invalid or overlong UTF-8, trailing data and nesting deeper than
/// 64 are refused. Errors: INVALID_JSON with details {"position", "reason"}
/// (docs/decisions.md, "Edge validation").
result<boost::json::value> parse_json(std::string_view text);

/// Reads a whole file and parses it. Errors: CONFIG_ERROR when unreadable, INVALID_JSON.
result<boost::json::value> read_json_file(const std::string& path);

/// The string member `key` of `obj`, or nullopt when absent or not a string.
std::optional<std::string_view> get_string(const boost::json::object& obj, std::string_view key);

/// The member `key` of `obj` as a pointer, or nullptr.
const boost::json::value* get_member(const boost::json::object& obj, std::string_view key);

/// The member as a double when it is a number (int64, uint64 or double), else nullopt.
std::optional<double> get_number(const boost::json::object& obj, std::string_view key);

/// Walks a dotted path (`result.spec.nodes.0.name`: object keys and array indices) from `root`.
/// Returns nullptr when any segment is missing.
const boost::json::value* find_path(const boost::json::value& root, std::string_view dotted_path);

/// Converts a YAML node to JSON. Plain scalars become null/bool/integer/double when they read
/// as such (YAML 1.2 core schema); quoted scalars stay strings; map keys are strings.
boost::json::value yaml_to_json(const YAML::Node& node);

/// Loads a YAML file as JSON. Errors: CONFIG_ERROR with details {"path", "reason"} (line and
/// column from yaml-cpp).
result<boost::json::value> read_yaml_file(const std::string& path);

/// Parses YAML text as JSON (for embedded defaults). Errors as read_yaml_file.
result<boost::json::value> parse_yaml(std::string_view text, std::string_view origin);

/// Reads a whole file into a string; nullopt when it cannot be read.
std::optional<std::string> read_file(const std::string& path);

} // namespace opex
