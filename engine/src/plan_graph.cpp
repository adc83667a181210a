// Plan graphs as DOT and Mermaid (opex/plan_graph.hpp).
#include "opex/plan_graph.hpp"

#include "opex/contracts.hpp"
#include "opex/json_util.hpp"

#include <boost/json/array.hpp>

#include <cstdio>
#include <map>

namespace opex {

namespace json = boost::json;

namespace {

/// Fill and line colours by step state (the console's legend uses the same).
struct state_style {
  const char* fill;
  const char* line;
};

state_style style_of(std::string_view status) {
  static const std::map<std::string_view, state_style> styles{
    {"succeeded", {"#d9f2e1", "#1e7b43"}}, {"failed", {"#fbdcdc", "#b3261e"}},
    {"timed_out", {"#fbdcdc", "#b3261e"}}, {"skipped", {"#eeeeee", "#757575"}},
    {"cancelled", {"#eeeeee", "#757575"}}, {"running", {"#dde8fb", "#1f57b5"}},
    {"awaiting_approval", {"#fff1cc", "#a86b00"}}, {"pending", {"#ffffff", "#5f6368"}},
  };
  auto it = styles.find(status);
  return it == styles.end() ? state_style{"#ffffff", "#5f6368"} : it->second;
}

std::string duration_text(double ms) {
  char buf[32];
  if (ms < 1000)
    std::snprintf(buf, sizeof buf, "%.0f ms", ms);
  else
    std::snprintf(buf, sizeof buf, "%.1f s", ms / 1000.0);
  return buf;
}

/// The lines under a step's tool: its state, attempts and duration, then its error.
std::vector<std::string> detail_lines(const graph_step& s) {
  std::vector<std::string> out;
  if (s.status.empty())
    return out;
  std::string line = s.status;
  if (s.attempts > 0)
    line += " · " + std::to_string(s.attempts) + (s.attempts == 1 ? " attempt" : " attempts");
  if (s.duration_ms)
    line += " · " + duration_text(*s.duration_ms);
  out.push_back(std::move(line));
  if (!s.error_code.empty()) {
    std::string why = s.error_code;
    if (!s.error.empty())
      why += ": " + (s.error.size() > 60 ? s.error.substr(0, 57) + "..." : s.error);
    out.push_back(std::move(why));
  }
  return out;
}

/// A DOT double-quoted string's content.
std::string dot_escaped(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '"' || c == '\\')
      out.push_back('\\');
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out.push_back(c);
  }
  return out;
}

/// A Mermaid quoted label's content (entity codes for what would end or break it).
std::string mermaid_escaped(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '"')
      out += "#quot;";
    else if (c == '<')
      out += "#lt;";
    else if (c == '>')
      out += "#gt;";
    else if (c == '\n')
      out += ' ';
    else
      out.push_back(c);
  }
  return out;
}

} // namespace

result<plan_graph> graph_of_output(const json::object& prolex_output) {
  auto type = get_string(prolex_output, "type").value_or("");
  if (type != "tool_call" && type != "multi_tool_plan")
    return make_error(error_code::validation_error,
                      "a " + std::string(type.empty() ? "ProlexOutput without a type" : type) + " has no plan to draw",
                      json::object{{"type", type}});
  plan_graph g;
  g.title = "plan";
  for (const auto& s : prolex_output_from_json(prolex_output).plan)
    g.steps.push_back(graph_step{s.step, s.tool, s.depends_on, "", 0, std::nullopt, "", ""});
  return g;
}

result<plan_graph> graph_of_request(const json::object& state) {
  const auto* request = get_member(state, "request");
  const auto* output = request && request->is_object() ? get_member(request->get_object(), "output") : nullptr;
  if (!output || !output->is_object())
    return make_error(error_code::validation_error, "this request has no plan to draw", json::object{});
  auto g = graph_of_output(output->get_object());
  if (!g)
    return g.error();
  const auto& r = request->get_object();
  g->title = "request " + std::string(get_string(r, "id").value_or(""));
  g->status = std::string(get_string(r, "status").value_or(""));
  std::map<int, graph_step*> by_step;
  for (auto& s : g->steps) {
    s.status = "pending";
    by_step[s.step] = &s;
  }
  auto apply = [&](const json::value& v, bool from_result) {
    const auto* o = v.if_object();
    const auto* n = o ? get_member(*o, "step") : nullptr;
    if (!n || !n->is_int64() || !by_step.contains(static_cast<int>(n->get_int64())))
      return;
    auto& s = *by_step[static_cast<int>(n->get_int64())];
    if (auto status = get_string(*o, "status"))
      s.status = std::string(*status);
    if (const auto* a = get_member(*o, "attempts"); a && a->is_int64())
      s.attempts = static_cast<int>(a->get_int64());
    if (const auto* d = get_member(*o, "duration_ms"); from_result && d && d->is_number())
      s.duration_ms = d->to_number<double>();
    if (const auto* e = get_member(*o, "error"); e && e->is_object()) {
      s.error_code = std::string(get_string(e->get_object(), "error_code").value_or(""));
      s.error = std::string(get_string(e->get_object(), "error").value_or(""));
    }
  };
  if (const auto* steps = get_member(state, "steps"); steps && steps->is_array())
    for (const auto& s : steps->get_array())
      apply(s, false);
  // The final result (request_result: {..., "result": {"steps": [...]}}) has the durations, and
  // the last word on states once the request ended.
  const auto* result = get_member(r, "result");
  const auto* inner = result && result->is_object() ? get_member(result->get_object(), "result") : nullptr;
  if (inner && inner->is_object())
    if (const auto* steps = get_member(inner->get_object(), "steps"); steps && steps->is_array())
      for (const auto& s : steps->get_array())
        apply(s, true);
  return g;
}

std::string to_dot(const plan_graph& g) {
  std::string out = "digraph plan {\n  graph [rankdir=LR, fontname=\"Helvetica\", fontsize=12, labelloc=t, label=\"";
  out += dot_escaped(g.title + (g.status.empty() ? "" : " (" + g.status + ")"));
  out += "\"];\n  node [shape=box, style=\"rounded,filled\", fontname=\"Helvetica\", fontsize=11];\n"
         "  edge [color=\"#5f6368\"];\n";
  for (const auto& s : g.steps) {
    auto style = style_of(s.status);
    std::string label = std::to_string(s.step) + ". " + s.tool;
    for (const auto& line : detail_lines(s))
      label += "\n" + line;
    out += "  s" + std::to_string(s.step) + " [id=\"step-" + std::to_string(s.step) + "\", label=\"" + dot_escaped(label)
           + "\", fillcolor=\"" + style.fill + "\", color=\"" + style.line + "\"";
    if (!s.status.empty())
      out += ", class=\"" + s.status + "\", tooltip=\"" + dot_escaped(s.status) + "\"";
    out += "];\n";
  }
  for (const auto& s : g.steps)
    for (int d : s.depends_on)
      out += "  s" + std::to_string(d) + " -> s" + std::to_string(s.step) + ";\n";
  out += "}\n";
  return out;
}

std::string to_mermaid(const plan_graph& g) {
  std::string out = "---\ntitle: " + mermaid_escaped(g.title + (g.status.empty() ? "" : " (" + g.status + ")"))
                    + "\n---\nflowchart LR\n";
  std::map<std::string, state_style> used;
  for (const auto& s : g.steps) {
    std::string label = mermaid_escaped(std::to_string(s.step) + ". " + s.tool);
    for (const auto& line : detail_lines(s))
      label += "<br/>" + mermaid_escaped(line);
    out += "  s" + std::to_string(s.step) + "[\"" + label + "\"]";
    if (!s.status.empty()) {
      out += ":::" + s.status;
      used.emplace(s.status, style_of(s.status));
    }
    out += "\n";
  }
  for (const auto& s : g.steps)
    for (int d : s.depends_on)
      out += "  s" + std::to_string(d) + " --> s" + std::to_string(s.step) + "\n";
  for (const auto& [status, style] : used)
    out += "  classDef " + status + " fill:" + style.fill + ",stroke:" + style.line + "\n";
  return out;
}

} // namespace opex
