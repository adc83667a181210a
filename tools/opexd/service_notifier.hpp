// opexd under systemd (Type=notify; docs/operations.md, "systemd"): READY=1 once it serves,
// STOPPING=1 when a signal asks it to stop, WATCHDOG=1 every half WATCHDOG_USEC while it runs,
// through libsystemd's sd_notify. Outside systemd (no NOTIFY_SOCKET) every call does nothing.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace opex::tools {

class service_notifier {
public:
  service_notifier() = default;
  ~service_notifier();
  service_notifier(const service_notifier&) = delete;
  service_notifier& operator=(const service_notifier&) = delete;

  /// READY=1 with a STATUS line; starts the watchdog thread when systemd asks for one.
  /// `healthy` is asked before each WATCHDOG=1 (a false answer skips that ping, so systemd
  /// restarts a process that stopped serving).
  void ready(const std::string& status, std::function<bool()> healthy = {});
  /// STOPPING=1 with a STATUS line; stops the watchdog.
  void stopping(const std::string& status);
  /// RELOADING=1 (then ready() again when the new configuration is in place).
  void reloading();

private:
  void stop_watchdog();

  std::thread watchdog_;
  std::mutex m_;
  std::condition_variable cv_;
  bool stop_ = false;
};

} // namespace opex::tools
