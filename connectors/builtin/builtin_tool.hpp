// One builtin tool as a registered entry: its name (`target.name`), the catalogue tools it
// serves under `targets.mode: builtin`, where it runs and its function. Adding a builtin is a
// file in this folder with its function and one line in builtin_registry.cpp
// (docs/architecture.md, "Adding a builtin tool").
#pragma once

#include "opex/connectors/local_store.hpp"

#include "opex/connectors/builtin_connector.hpp"

#include <array>
#include <span>
#include <string>
#include <string_view>

namespace opex::connectors {

/// What a builtin tool receives for one call.
struct builtin_call {
  const tool_definition& tool;
  const boost::json::object& payload;
  const call_context& ctx;
  const builtin_options& options;
  local_store* items = nullptr;  ///< store tools: the local store, inside the batch's transaction

  /// Now as ISO 8601 UTC, from the engine's clock.
  std::string now() const { return format_timestamp(options.time->now().utc); }
};

/// Where a builtin runs.
enum class builtin_runs {
  inline_call,  ///< on the caller's thread, without the store (noop, log_append)
  store,        ///< on the store's thread, in the group commit's transaction (reads)
  store_once,   ///< idem, once per idempotency key: a replay answers the stored effect
};

/// One builtin tool.
struct builtin_tool {
  std::string_view name;                  ///< `target.name` ("task_create")
  std::array<std::string_view, 2> tools;  ///< catalogue ids it serves by default ("" = unused slot)
  builtin_runs runs = builtin_runs::inline_call;
  call_outcome (*run)(const builtin_call&) = nullptr;
  bool honours_delay_ms = false;  ///< `delay_ms` in the payload answers after that delay (timer)
};

/// Every builtin, in registration order.
std::span<const builtin_tool> builtin_tools() noexcept;

/// The builtin named `name`, or nullptr.
const builtin_tool* find_builtin(std::string_view name) noexcept;

} // namespace opex::connectors
