// The engine's own log (docs/operations.md, "Logs"): one JSON line per event with a level,
// through spdlog, to stderr, stdout or a file. Separate from opexd's access log.
#pragma once

#include <boost/json/object.hpp>

#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace opex {

/// Severity, lowest first; `off` silences the log.
enum class log_level { debug, info, warn, error, off };

std::string_view log_level_name(log_level l) noexcept;
/// debug | info | warn | error | off; nullopt for anything else.
std::optional<log_level> parse_log_level(std::string_view name) noexcept;

/// `logging:` in opex.yml: the lowest level written and where ("stderr", "stdout", "off" or a
/// file path, appended to).
struct log_settings {
  log_level level = log_level::info;
  std::string target = "stderr";
};

/// Sends the engine log to `s.target` from now on (process-wide; the last call wins). Throws
/// std::runtime_error naming the file when it cannot be opened.
void configure_log(const log_settings& s);

/// Masks every message and string field before it is written (the engine installs its masking
/// rules: key names and value shapes). Null: written as given.
void set_log_masker(std::function<std::string(std::string_view)> masker);

/// Writes {"time": ISO 8601 UTC, "level", "logger": "opex", "event", "msg", ...fields} when
/// `level` is at least the configured one. `event` is a stable dotted name (store.commit_failed)
/// that alerts can match; fields are added as given (strings masked). Never throws.
void log_event(log_level level, std::string_view event, std::string_view message,
               const boost::json::object& fields = {});

} // namespace opex
