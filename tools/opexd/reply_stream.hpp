// A streamed answer (text/event-stream): a route pushes chunks from any thread, the HTTP
// session writes them as they come (chunked transfer) and ends the answer once closed. Used
// by /mcp for progress notifications and the GET stream (docs/mcp-gateway.md).
#pragma once

#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

namespace opex::tools {

class reply_stream {
public:
  /// Queues one chunk (an SSE event, already framed); dropped once the stream ended or the
  /// client went away. Thread-safe.
  void push(std::string chunk) {
    std::function<void()> wake;
    {
      std::lock_guard lock(m_);
      if (closed_ || gone_)
        return;
      chunks_.push_back(std::move(chunk));
      wake = wake_;
    }
    if (wake)
      wake();
  }
  /// No more chunks: the session ends the answer after the queued ones. Thread-safe.
  void close() {
    std::function<void()> wake;
    {
      std::lock_guard lock(m_);
      if (closed_)
        return;
      closed_ = true;
      wake = wake_;
    }
    if (wake)
      wake();
  }
  /// True once close() was called or the client went away.
  bool ended() const {
    std::lock_guard lock(m_);
    return closed_ || gone_;
  }

  // The session's side.
  /// `wake` is called (from the pushing thread) whenever there is something to take.
  void attach(std::function<void()> wake) {
    std::lock_guard lock(m_);
    wake_ = std::move(wake);
  }
  /// Moves the queued chunks into `out`; true when the stream is closed and nothing is left.
  bool take(std::string& out) {
    std::lock_guard lock(m_);
    out.clear();
    while (!chunks_.empty()) {
      out += chunks_.front();
      chunks_.pop_front();
    }
    return closed_ && out.empty();
  }
  /// The client went away (a write failed): later pushes are dropped.
  void abandon() {
    std::lock_guard lock(m_);
    gone_ = true;
    chunks_.clear();
    wake_ = nullptr;
  }

private:
  mutable std::mutex m_;
  std::deque<std::string> chunks_;
  bool closed_ = false;
  bool gone_ = false;
  std::function<void()> wake_;
};

/// One server-sent event carrying `data` (WHATWG HTML §9.2: "event: message", one data line
/// per line of `data`, a blank line).
inline std::string sse_event(const std::string& data, const std::string& id = {}) {
  std::string out;
  if (!id.empty())
    out += "id: " + id + "\n";
  out += "event: message\n";
  std::size_t start = 0;
  while (true) {
    auto nl = data.find('\n', start);
    out += "data: " + data.substr(start, nl == std::string::npos ? std::string::npos : nl - start) + "\n";
    if (nl == std::string::npos)
      break;
    start = nl + 1;
  }
  return out + "\n";
}

} // namespace opex::tools
