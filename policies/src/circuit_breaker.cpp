// Count-based circuit breakers and their registry.
#include "opex/policies/circuit_breaker.hpp"

#include <algorithm>

namespace opex::policies {

namespace chr = std::chrono;

std::string_view breaker_state_name(breaker_state s) noexcept {
  switch (s) {
    case breaker_state::closed: return "closed";
    case breaker_state::open: return "open";
    case breaker_state::half_open: return "half_open";
  }
  return "closed";
}

circuit_breaker::circuit_breaker(std::string target, circuit_breaker_settings settings)
  : target_(std::move(target)), settings_(settings) {}

double circuit_breaker::failure_rate() const {
  if (window_.empty())
    return 0.0;
  auto failures = std::count_if(window_.begin(), window_.end(), [](const outcome& o) { return o.failure; });
  return 100.0 * static_cast<double>(failures) / static_cast<double>(window_.size());
}

breaker_transition circuit_breaker::transition_to(breaker_state to, double failure_rate, double slow_rate, int calls,
                                                  breaker_clock::time_point now) {
  breaker_transition t{target_, state_, to, failure_rate, slow_rate, calls};
  state_ = to;
  probes_started_ = 0;
  probes_.clear();
  if (to == breaker_state::open)
    opened_at_ = now;
  if (to == breaker_state::closed)
    window_.clear();
  return t;
}

breaker_permit circuit_breaker::try_acquire(breaker_clock::time_point now) {
  breaker_permit p;
  if (state_ == breaker_state::open) {
    auto wait = chr::milliseconds{static_cast<long long>(settings_.wait_duration_in_open_state_ms)};
    auto until = opened_at_ + wait;
    if (now < until) {
      p.permitted = false;
      p.state = state_;
      p.retry_after = chr::ceil<chr::milliseconds>(until - now);
      return p;
    }
    p.transition = transition_to(breaker_state::half_open, failure_rate(), 0.0, 0, now);
  }
  if (state_ == breaker_state::half_open) {
    if (probes_started_ >= settings_.permitted_number_of_calls_in_half_open_state) {
      p.permitted = false;
      p.state = state_;
      p.retry_after = chr::milliseconds{0};
      return p;
    }
    ++probes_started_;
  }
  p.state = state_;
  return p;
}

void circuit_breaker::release(breaker_clock::time_point) {
  if (state_ == breaker_state::half_open && probes_started_ > 0)
    --probes_started_;
}

std::optional<breaker_transition> circuit_breaker::record(bool failure, chr::milliseconds duration,
                                                         breaker_clock::time_point now) {
  bool slow = settings_.slow_call_duration_threshold_ms > 0
              && static_cast<double>(duration.count()) >= settings_.slow_call_duration_threshold_ms;
  auto rates = [](const auto& calls) {
    double f = 0, s = 0;
    for (const auto& o : calls) {
      f += o.failure ? 1 : 0;
      s += o.slow ? 1 : 0;
    }
    auto n = static_cast<double>(calls.size());
    return std::pair{n > 0 ? 100.0 * f / n : 0.0, n > 0 ? 100.0 * s / n : 0.0};
  };
  switch (state_) {
    case breaker_state::open:
      return std::nullopt;  // a call that started before the breaker opened: ignored
    case breaker_state::half_open: {
      probes_.push_back({failure, slow});
      if (static_cast<int>(probes_.size()) < settings_.permitted_number_of_calls_in_half_open_state)
        return std::nullopt;
      auto [f, s] = rates(probes_);
      int n = static_cast<int>(probes_.size());
      bool reopen = f >= settings_.failure_rate_threshold
                    || (settings_.slow_call_duration_threshold_ms > 0 && s >= settings_.slow_call_rate_threshold);
      return transition_to(reopen ? breaker_state::open : breaker_state::closed, f, s, n, now);
    }
    case breaker_state::closed: {
      window_.push_back({failure, slow});
      while (static_cast<int>(window_.size()) > std::max(1, settings_.sliding_window_size))
        window_.pop_front();
      if (static_cast<int>(window_.size()) < settings_.minimum_number_of_calls)
        return std::nullopt;
      auto [f, s] = rates(window_);
      bool open = f >= settings_.failure_rate_threshold
                  || (settings_.slow_call_duration_threshold_ms > 0 && s >= settings_.slow_call_rate_threshold);
      if (!open)
        return std::nullopt;
      return transition_to(breaker_state::open, f, s, static_cast<int>(window_.size()), now);
    }
  }
  return std::nullopt;
}

breaker_registry::breaker_registry(circuit_breaker_settings settings) : settings_(settings) {}

breaker_registry::entry& breaker_registry::get(const std::string& target) {
  auto it = breakers_.find(target);
  if (it == breakers_.end()) {
    entry e;
    e.breaker = std::make_unique<circuit_breaker>(target, settings_);
    e.counters.target = target;
    it = breakers_.emplace(target, std::move(e)).first;
  }
  return it->second;
}

void breaker_registry::count(entry& e, const breaker_transition& t) {
  if (t.to == breaker_state::open)
    ++e.counters.opened;
  else if (t.to == breaker_state::half_open)
    ++e.counters.half_opened;
  else
    ++e.counters.closed;
}

breaker_permit breaker_registry::try_acquire(const std::string& target, breaker_clock::time_point now) {
  if (!settings_.enabled)
    return {};
  std::lock_guard lock(m_);
  auto& e = get(target);
  auto p = e.breaker->try_acquire(now);
  if (p.transition)
    count(e, *p.transition);
  if (!p.permitted)
    ++e.counters.rejected;
  return p;
}

std::optional<breaker_transition> breaker_registry::record(const std::string& target, bool failure,
                                                          chr::milliseconds duration, breaker_clock::time_point now) {
  if (!settings_.enabled)
    return std::nullopt;
  std::lock_guard lock(m_);
  auto& e = get(target);
  auto t = e.breaker->record(failure, duration, now);
  if (t)
    count(e, *t);
  return t;
}

void breaker_registry::release(const std::string& target, breaker_clock::time_point now) {
  if (!settings_.enabled)
    return;
  std::lock_guard lock(m_);
  get(target).breaker->release(now);
}

std::vector<breaker_snapshot> breaker_registry::snapshot() const {
  std::lock_guard lock(m_);
  std::vector<breaker_snapshot> out;
  for (const auto& [_, e] : breakers_) {
    auto s = e.counters;
    s.state = e.breaker->state();
    s.failure_rate = e.breaker->failure_rate();
    out.push_back(std::move(s));
  }
  return out;
}

} // namespace opex::policies
