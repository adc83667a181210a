// sd_notify for opexd (service_notifier.hpp).
#include "service_notifier.hpp"

#include <systemd/sd-daemon.h>

#include <chrono>

namespace opex::tools {

service_notifier::~service_notifier() {
  stop_watchdog();
}

void service_notifier::ready(const std::string& status, std::function<bool()> healthy) {
  sd_notify(0, ("READY=1\nSTATUS=" + status).c_str());
  std::uint64_t usec = 0;
  if (watchdog_.joinable() || sd_watchdog_enabled(0, &usec) <= 0 || usec == 0)
    return;
  stop_ = false;
  watchdog_ = std::thread([this, usec, healthy = std::move(healthy)] {
    const auto every = std::chrono::microseconds(usec / 2);
    std::unique_lock lock(m_);
    while (!cv_.wait_for(lock, every, [this] { return stop_; }))
      if (!healthy || healthy())
        sd_notify(0, "WATCHDOG=1");
  });
}

void service_notifier::stopping(const std::string& status) {
  stop_watchdog();
  sd_notify(0, ("STOPPING=1\nSTATUS=" + status).c_str());
}

void service_notifier::reloading() {
  sd_notify(0, "RELOADING=1");
}

void service_notifier::stop_watchdog() {
  {
    std::lock_guard lock(m_);
    stop_ = true;
  }
  cv_.notify_all();
  if (watchdog_.joinable())
    watchdog_.join();
}

} // namespace opex::tools
