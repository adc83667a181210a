// The supervisor's scheduling state over a plan DAG: which steps are ready, running, done,
// and which are skipped because a dependency did not succeed (trigger rule all_success, with
// a step's continue_on_failure letting its dependents run anyway). Plain logic, no actors.
#pragma once

#include "opex/contracts.hpp"
#include "opex/plan_dag.hpp"

#include <cstddef>
#include <deque>
#include <memory>
#include <string>
#include <vector>

namespace opex::actors {

/// A step the scheduler skipped, and why ("dependency step 2 failed").
struct skipped_step {
  std::size_t index = 0;
  int failed_dependency = 0;
  std::string reason;
};

/// Scheduling state of one plan. Not thread-safe: owned by one supervisor actor.
class dag_scheduler {
public:
  explicit dag_scheduler(std::shared_ptr<const plan_dag> dag);

  /// Pops up to `max` ready steps (dependencies satisfied) and marks them running.
  std::vector<std::size_t> take_ready(std::size_t max);

  /// Records a terminal status for a running step. Dependents become ready when all their
  /// dependencies succeeded (or failed with continue_on_failure); otherwise they, and their own
  /// dependents, are skipped: the skips are returned.
  std::vector<skipped_step> complete(std::size_t index, step_status status);

  /// Restores a step from persisted state (plan recovery): a terminal status is recorded as
  /// if the step had run (dependents become ready or skipped), awaiting_approval takes the step
  /// out of the ready set without finishing it. Steps restored out of topological order may
  /// already be skipped: then nothing changes.
  void restore(std::size_t index, step_status status);

  /// Marks every step that has not started as cancelled; returns their indices.
  std::vector<std::size_t> cancel_pending();

  std::size_t running() const noexcept { return running_; }
  bool has_ready() const noexcept { return !ready_.empty(); }
  bool finished() const noexcept { return terminal_ == dag_->steps.size(); }
  step_status status(std::size_t index) const { return status_[index]; }
  const plan_dag& dag() const noexcept { return *dag_; }

private:
  std::shared_ptr<const plan_dag> dag_;
  std::vector<step_status> status_;
  std::vector<std::size_t> waiting_on_;
  std::deque<std::size_t> ready_;
  std::size_t running_ = 0;
  std::size_t terminal_ = 0;
};

} // namespace opex::actors
