// DAG scheduling state.
#include "dag_scheduler.hpp"

namespace opex::actors {

dag_scheduler::dag_scheduler(std::shared_ptr<const plan_dag> dag) : dag_(std::move(dag)) {
  const auto n = dag_->steps.size();
  status_.assign(n, step_status::pending);
  waiting_on_.resize(n);
  for (std::size_t i = 0; i < n; ++i)
    waiting_on_[i] = dag_->dependencies[i].size();
  for (auto r : dag_->roots)
    ready_.push_back(r);
}

std::vector<std::size_t> dag_scheduler::take_ready(std::size_t max) {
  std::vector<std::size_t> out;
  while (!ready_.empty() && out.size() < max) {
    auto i = ready_.front();
    ready_.pop_front();
    if (status_[i] != step_status::pending)
      continue;
    status_[i] = step_status::running;
    ++running_;
    out.push_back(i);
  }
  return out;
}

std::vector<skipped_step> dag_scheduler::complete(std::size_t index, step_status status) {
  std::vector<skipped_step> skipped;
  if (status_[index] == step_status::running)
    --running_;
  if (is_terminal(status_[index]))
    return skipped;
  status_[index] = status;
  ++terminal_;
  const bool lets_dependents_run =
    status == step_status::succeeded
    || (dag_->steps[index].continue_on_failure
        && (status == step_status::failed || status == step_status::timed_out));
  // Iterative propagation: a skipped step skips its own dependents.
  std::vector<std::pair<std::size_t, bool>> work{{index, lets_dependents_run}};
  while (!work.empty()) {
    auto [from, ok] = work.back();
    work.pop_back();
    for (auto d : dag_->dependents[from]) {
      if (status_[d] != step_status::pending)
        continue;
      if (ok) {
        if (--waiting_on_[d] == 0)
          ready_.push_back(d);
        continue;
      }
      status_[d] = step_status::skipped;
      ++terminal_;
      int dep = dag_->steps[from].step;
      std::string what = from == index ? std::string(step_status_name(status)) : "skipped";
      skipped.push_back({d, dep, "dependency step " + std::to_string(dep) + " " + what});
      work.emplace_back(d, false);
    }
  }
  return skipped;
}

void dag_scheduler::restore(std::size_t index, step_status status) {
  if (status_[index] != step_status::pending)
    return;
  status_[index] = step_status::running;
  ++running_;
  if (is_terminal(status))
    complete(index, status);
}

std::vector<std::size_t> dag_scheduler::cancel_pending() {
  std::vector<std::size_t> out;
  for (std::size_t i = 0; i < status_.size(); ++i)
    if (status_[i] == step_status::pending) {
      status_[i] = step_status::cancelled;
      ++terminal_;
      out.push_back(i);
    }
  ready_.clear();
  return out;
}

} // namespace opex::actors
