// DOT to SVG with Graphviz (libgvc, the `dot` layout): the plan graphs opexctl writes and opexd
// serves (docs/operations.md, "Plan graphs"). Graphviz is not thread-safe, so every render in
// the process is serialized; opexd renders on a thread of its own, never an actor's.
#pragma once

#include "opex/error.hpp"

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace opex::tools {

/// The SVG of `dot`, on the caller's thread (one render at a time in the process). Errors:
/// VALIDATION_ERROR {reason} when Graphviz cannot read the DOT, INTERNAL_ERROR when it cannot lay
/// it out or render it.
result<std::string> render_svg(const std::string& dot);

/// render_svg on a thread of its own, with a bounded queue.
class svg_renderer {
public:
  explicit svg_renderer(std::size_t max_queue = 64);
  ~svg_renderer();
  svg_renderer(const svg_renderer&) = delete;
  svg_renderer& operator=(const svg_renderer&) = delete;

  /// Queues a render; `done` runs on the renderer's thread. False, and `done` is not called,
  /// when `max_queue` renders already wait (the caller answers QUEUE_FULL).
  bool render(std::string dot, std::function<void(result<std::string>)> done);

private:
  struct job {
    std::string dot;
    std::function<void(result<std::string>)> done;
  };
  void run();

  std::size_t max_queue_;
  std::mutex m_;
  std::condition_variable cv_;
  std::deque<job> jobs_;
  bool stopping_ = false;
  std::thread thread_;
};

} // namespace opex::tools
