// Live progress of a request, as the supervisor and the executors report it to observers (the
// engine's `on_progress`, opexctl's terminal view). Part of the core so that the actors that
// report it need not include the engine's facade.
#pragma once

#include "opex/contracts.hpp"
#include "opex/observer.hpp"

#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace opex {

/// What a progress event is about.
enum class progress_kind {
  step,     ///< a step's attempt started, waits for its retry, or the step ended
  breaker,  ///< a target's circuit breaker changed state during one of the request's calls
};

/// "step" or "breaker".
std::string_view progress_kind_name(progress_kind k) noexcept;

/// A step's progress, reported live to observers.
/// kind step: `status` is running when an attempt starts (and when a failed attempt waits for
/// its retry), then the step's terminal status. kind breaker: `target`, `breaker_state`.
struct progress_event {
  progress_kind kind = progress_kind::step;
  std::string request_id;
  int step = 0;
  std::string tool;
  step_status status = step_status::running;
  int attempt = 1;
  double duration_ms = 0.0;   ///< ms
  std::string error_code;     ///< "" on success
  std::string message;        ///< error message, retry delay or skip reason
  std::string target;         ///< kind breaker: the breaker's target
  std::string breaker_state;  ///< kind breaker: closed | open | half_open
};

/// The observer that reports to `callback` (engine_options::on_progress): an attempt's start
/// (status running, `message` its resume note), a failed attempt waiting for its retry (status
/// running, `error_code`, `message` "attempt N failed (...), retry in D ms (reason)"), each step's
/// end, an approval opened (awaiting_approval, APPROVAL_REQUIRED) and each breaker change (kind
/// breaker). Null when `callback` is empty.
std::shared_ptr<observer> make_progress_observer(std::function<void(const progress_event&)> callback);

} // namespace opex
