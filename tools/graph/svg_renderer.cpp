// DOT to SVG with Graphviz (tools/graph/svg_renderer.hpp).
#include "svg_renderer.hpp"

#include <graphviz/cgraph.h>
#include <graphviz/gvc.h>

#include <memory>

namespace opex::tools {

namespace {

std::mutex& graphviz_mutex() {
  static std::mutex m;
  return m;
}

/// One Graphviz context for the process, made on first use (its plugins are loaded once).
GVC_t* context() {
  static GVC_t* gvc = gvContext();
  return gvc;
}

} // namespace

result<std::string> render_svg(const std::string& dot) {
  std::lock_guard lock(graphviz_mutex());
  auto* gvc = context();
  if (!gvc)
    return make_error(error_code::internal_error, "Graphviz could not start", boost::json::object{});
  std::unique_ptr<Agraph_t, int (*)(Agraph_t*)> graph(agmemread(dot.c_str()), agclose);
  if (!graph)
    return make_error(error_code::validation_error, "Graphviz could not read the graph",
                      boost::json::object{{"reason", "not DOT"}});
  if (gvLayout(gvc, graph.get(), "dot") != 0)
    return make_error(error_code::internal_error, "Graphviz could not lay out the graph", boost::json::object{});
  char* data = nullptr;
  unsigned int length = 0;
  int rendered = gvRenderData(gvc, graph.get(), "svg", &data, &length);
  std::string svg = rendered == 0 && data ? std::string(data, length) : std::string();
  if (data)
    gvFreeRenderData(data);
  gvFreeLayout(gvc, graph.get());
  if (rendered != 0)
    return make_error(error_code::internal_error, "Graphviz could not render SVG", boost::json::object{});
  return svg;
}

svg_renderer::svg_renderer(std::size_t max_queue) : max_queue_(max_queue), thread_([this] { run(); }) {}

svg_renderer::~svg_renderer() {
  {
    std::lock_guard lock(m_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

bool svg_renderer::render(std::string dot, std::function<void(result<std::string>)> done) {
  {
    std::lock_guard lock(m_);
    if (stopping_ || jobs_.size() >= max_queue_)
      return false;
    jobs_.push_back({std::move(dot), std::move(done)});
  }
  cv_.notify_one();
  return true;
}

void svg_renderer::run() {
  std::unique_lock lock(m_);
  while (true) {
    cv_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
    if (jobs_.empty())
      return;  // stopping, nothing left to render
    auto j = std::move(jobs_.front());
    jobs_.pop_front();
    lock.unlock();
    j.done(render_svg(j.dot));
    lock.lock();
  }
}

} // namespace opex::tools
