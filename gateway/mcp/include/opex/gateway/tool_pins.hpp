// The definitions of re-exposed MCP tools, pinned by digest (docs/mcp-gateway.md,
// "Aggregation"): the "rug pull" defence of MCP security guidance. A tool's definition (name,
// description, input schema) is pinned at first sight; a different one is kept as pending and
// refused until an operator approves its digest.
#pragma once

#include "opex/error.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <memory>
#include <mutex>
#include <string>

namespace opex::connectors {
class sqlite_db;
}

namespace opex::gateway {

/// SHA-256 (hex) of the canonical JSON of {name, description, inputSchema}: object keys
/// sorted at every level, no spaces.
std::string definition_digest(const boost::json::object& definition);

/// The pins of one database, in its table mcp_tool_pins (server, tool, digest, definition,
/// pending_digest, pending_definition, first_seen, updated_at, approved_by). Thread-safe.
class tool_pins {
public:
  /// The pins of `database` (one instance per path in this process). Errors: INTERNAL_ERROR
  /// {path, reason} when the table cannot be opened.
  static result<std::shared_ptr<tool_pins>> of_database(const std::string& database);

  /// What a definition is against its pin.
  struct verdict {
    bool allowed = true;       ///< pinned now, or the same digest as the pin
    bool first_sight = false;  ///< pinned by this check
    std::string pinned_digest;
    std::string current_digest;
  };
  /// Pins `definition` ({name, description, inputSchema}) at first sight; afterwards a
  /// different digest is recorded as pending and not allowed. `now`: ISO 8601.
  result<verdict> check(const std::string& server, const boost::json::object& definition, const std::string& now);
  /// Makes the pending `digest` of (server, tool) the pin. Errors: NOT_FOUND (no such pin),
  /// CONFLICT {pending_digest} when `digest` is not the pending one.
  error_info approve(const std::string& server, const std::string& tool, const std::string& digest,
                     const std::string& by, const std::string& now);
  /// Every pin: [{"server", "tool", "digest", "state": pinned | changed, "pending_digest",
  /// "first_seen", "updated_at", "approved_by"}].
  result<boost::json::array> list();

  explicit tool_pins(std::unique_ptr<connectors::sqlite_db> db);
  ~tool_pins();

private:
  std::mutex m_;
  std::unique_ptr<connectors::sqlite_db> db_;
};

} // namespace opex::gateway
