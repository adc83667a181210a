// Live progress as one observer: the typed hooks of opex/observer.hpp turned into the
// progress_events of engine_options::on_progress (docs/architecture.md, "Observers").
#include "opex/progress.hpp"

#include <utility>

namespace opex {
namespace {

class progress_observer final : public observer {
public:
  explicit progress_observer(std::function<void(const progress_event&)> cb) : cb_(std::move(cb)) {}

  void on_attempt_start(const attempt_started& e) override {
    auto ev = step_event(e.request_id, e.step, e.tool, step_status::running, e.attempt);
    ev.message = e.note;
    cb_(ev);
  }

  void on_attempt_end(const attempt_ended& e) override {
    if (!e.retry_in)
      return;  // the step's end follows
    auto ev = step_event(e.request_id, e.step, e.tool, step_status::running, e.attempt);
    ev.duration_ms = e.duration_ms;
    ev.error_code = e.error_code;
    ev.message = "attempt " + std::to_string(e.attempt) + " failed (" + e.message + "), retry in "
                 + std::to_string(e.retry_in->count()) + " ms (" + e.retry_reason + ")";
    cb_(ev);
  }

  void on_step_end(const step_ended& e) override {
    auto ev = step_event(e.request_id, e.step, e.tool, e.status, e.attempts);
    ev.duration_ms = e.duration_ms;
    ev.error_code = e.error_code;
    ev.message = e.message;
    cb_(ev);
  }

  void on_approval(const approval_changed& e) override {
    if (e.status != approval_status::pending)
      return;  // the step's next attempt or its end follows
    auto ev = step_event(e.request_id, e.step, e.tool, step_status::awaiting_approval, 0);
    ev.error_code = "APPROVAL_REQUIRED";
    ev.message = "approval " + e.approval_id + ": " + e.reason;
    cb_(ev);
  }

  void on_breaker_change(const breaker_changed& e) override {
    progress_event ev;
    ev.kind = progress_kind::breaker;
    ev.request_id = e.request_id;
    ev.step = e.step;
    ev.tool = e.tool;
    ev.target = e.target;
    ev.breaker_state = e.to;
    ev.message = "circuit " + e.from + " -> " + e.to;
    cb_(ev);
  }

private:
  static progress_event step_event(const std::string& request_id, int step, const std::string& tool,
                                   step_status status, int attempt) {
    progress_event ev;
    ev.request_id = request_id;
    ev.step = step;
    ev.tool = tool;
    ev.status = status;
    ev.attempt = attempt;
    return ev;
  }

  std::function<void(const progress_event&)> cb_;
};

} // namespace

std::shared_ptr<observer> make_progress_observer(std::function<void(const progress_event&)> callback) {
  if (!callback)
    return nullptr;
  return std::make_shared<progress_observer>(std::move(callback));
}

} // namespace opex
