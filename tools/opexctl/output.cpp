// opexctl's output: live progress, a request's summary, errors, the exit code of a result, and
// the engine each command builds.
#include "opexctl.hpp"

#include <boost/json/serialize.hpp>

#include <unistd.h>

#include <iomanip>
#include <iostream>
#include <mutex>

namespace opexctl {

namespace json = boost::json;
using namespace opex;

namespace {

std::shared_ptr<const opex::clock> make_clock(const std::string& now) {
  if (now.empty())
    return make_system_clock();
  auto z = parse_iso8601(now);
  if (!z)
    throw CLI::ValidationError("--now", "expects ISO 8601, e.g. 2026-11-18T09:00:00+01:00");
  return make_fixed_clock(*z, true);
}

void print_progress(const progress_event& ev) {
  static std::mutex m;
  std::lock_guard lock(m);
  if (ev.kind == progress_kind::breaker) {
    std::cerr << "  ⚡ circuit breaker " << ev.target << ": " << ev.message << " (during step " << ev.step
              << " " << ev.tool << ")\n";
    return;
  }
  const char* mark = "·";
  switch (ev.status) {
    case step_status::running: mark = "▸"; break;
    case step_status::succeeded: mark = "✓"; break;
    case step_status::skipped: mark = "↷"; break;
    case step_status::awaiting_approval: mark = "⏸"; break;
    default: mark = "✗"; break;
  }
  std::cerr << "  " << mark << " step " << ev.step << " " << ev.tool << " " << step_status_name(ev.status);
  if (ev.status == step_status::running)
    std::cerr << " (attempt " << ev.attempt << ")";
  else if (ev.status != step_status::skipped)
    std::cerr << " after " << ev.attempt << " attempt(s), " << std::fixed << std::setprecision(1)
              << ev.duration_ms << " ms";
  if (!ev.error_code.empty())
    std::cerr << " [" << ev.error_code << "]";
  if (!ev.message.empty())
    std::cerr << " " << ev.message;
  std::cerr << "\n";
}

void print_human(const request_result& r) {
  std::cout << "request " << r.request_id << ": " << request_status_name(r.status) << "\n";
  if (r.kimmy) {
    std::cout << "  kimmy: intent " << r.kimmy->intent << ", " << r.kimmy->complexity << ", confidence "
              << r.kimmy->confidence << ", language " << r.kimmy->language << "\n";
    if (r.decision) {
      std::cout << "         " << (r.decision->handled_directly ? "handled directly" : "escalated to Prolex");
      if (!r.decision->reasons.empty())
        std::cout << " (" << r.decision->reasons.front() << ")";
      std::cout << "\n";
    }
  }
  if (r.output) {
    std::cout << "  " << (r.planned_by.empty() ? "plan" : r.planned_by) << ": "
              << output_type_name(r.output->type) << "\n";
    if (r.output->type == output_type::answer)
      std::cout << "  answer: " << r.output->content << "\n";
    for (const auto& q : r.output->questions)
      std::cout << "  question: " << q << "\n";
  }
  for (const auto& s : r.steps) {
    std::cout << "  step " << s.step << " " << s.tool << ": " << step_status_name(s.status) << " ("
              << s.attempts.size() << " attempt(s), " << std::fixed << std::setprecision(1) << s.duration_ms
              << " ms)";
    if (s.error)
      std::cout << " " << error_code_name(s.error.code) << ": " << s.error.message;
    std::cout << "\n";
    if (!s.data.is_null())
      std::cout << "    data: " << json::serialize(s.data) << "\n";
  }
  if (r.error)
    std::cout << "  error: " << error_code_name(r.error.code) << ": " << r.error.message << "\n"
              << "  details: " << json::serialize(r.error.details) << "\n";
}

} // namespace

engine make_engine(const common_options& o, bool recover, bool read_only) {
  engine_options eo;
  eo.recover = recover;
  eo.read_only = read_only;
  eo.config_path = o.config;
  eo.database = o.database;
  eo.time = make_clock(o.now);
  if ((isatty(STDERR_FILENO) || o.progress) && !o.quiet)  // live progress for a person watching
    eo.on_progress = print_progress;
  return engine(std::move(eo));
}

int finish(const request_result& r, const common_options& o) {
  if (o.json_output)
    std::cout << json::serialize(to_json(r)) << std::endl;
  else
    print_human(r);
  if (r.status == request_status::awaiting_approval && !o.json_output)
    std::cout << "  waiting for approval: `opexctl approvals` lists it, `opexctl approve ID` runs it\n";
  switch (r.status) {
  case request_status::succeeded: return exit_succeeded;
  case request_status::awaiting_approval: return exit_awaiting;
  case request_status::rejected: return exit_refused;
  default: return exit_failed;
  }
}

int print_error(const error_info& err, const common_options& o, exit_code code) {
  if (o.json_output) {
    std::cout << json::serialize(to_error_json(err, "", format_timestamp(std::chrono::system_clock::now())))
              << std::endl;
  } else {
    std::cerr << "opexctl: " << err.message << "\n";
    if (const auto* errors = err.details.if_contains("errors"); errors && errors->is_array())
      for (const auto& e : errors->as_array())
        std::cerr << "  " << (e.is_string() ? std::string(e.as_string()) : json::serialize(e)) << "\n";
  }
  return code;
}

} // namespace opexctl
