// opexctl graph: a plan's DAG (a ProlexOutput file) or a request's, with each step's state, as
// Graphviz DOT, Mermaid or SVG (docs/operations.md, "Plan graphs"). A request is read from the
// database, or with --server from opexd's GET /v1/requests/{id}.
#include "opexctl.hpp"
#include "svg_renderer.hpp"

#include "opex/ids.hpp"
#include "opex/json_util.hpp"
#include "opex/plan_graph.hpp"
#include "opex/schema_registry.hpp"

#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>

namespace opexctl {

namespace json = boost::json;
using namespace opex;

namespace {

struct graph_args {
  std::string subject;  ///< a ProlexOutput file or a request id
  std::string format = "dot";
  std::string output;   ///< "" = stdout
};

/// The request's state, from opexd or the database. Errors: those of the lookup (NOT_FOUND...).
result<json::object> request_state_of(const std::string& id, const common_options& o) {
  if (o.server.empty()) {
    auto e = make_engine(o, false, true);
    return e.request_state(id);
  }
  auto answer = call_server(o, "GET", "/v1/requests/" + id);
  if (!answer)
    return answer.error();
  if (!answer->body.is_object())
    return make_error(error_code::protocol_error, "opexd's answer is not a JSON object");
  if (answer->status != 200)
    return error_from_json(answer->body);
  return answer->body.as_object();
}

result<plan_graph> graph_of(const graph_args& a, const common_options& o) {
  if (std::filesystem::is_regular_file(a.subject)) {
    auto doc = read_json_file(a.subject);
    if (!doc)
      return doc.error();
    if (auto err = schema_registry::with_embedded()->check("schemas/prolex_output.schema.json", *doc, "ProlexOutput"))
      return err;
    return graph_of_output(doc->as_object());
  }
  if (!is_uuid(a.subject))
    return make_error(error_code::validation_error, a.subject + " is neither a ProlexOutput file nor a request id (UUID)",
                      json::object{{"argument", a.subject}});
  auto state = request_state_of(a.subject, o);
  if (!state)
    return state.error();
  return graph_of_request(*state);
}

int show_graph(const graph_args& a, const common_options& o) {
  auto g = graph_of(a, o);
  if (!g)
    return print_error(g.error(), o, g.error().code == error_code::not_found ? exit_refused : exit_usage);
  std::string text = a.format == "mermaid" ? to_mermaid(*g) : to_dot(*g);
  if (a.format == "svg") {
    auto svg = tools::render_svg(text);
    if (!svg)
      return print_error(svg.error(), o, exit_failed);
    text = std::move(svg).value();
  }
  if (a.output.empty()) {
    std::cout << text;
    return 0;
  }
  std::ofstream out(a.output, std::ios::binary);
  out << text;
  if (!out.good())
    return print_error(make_error(error_code::validation_error, "cannot write " + a.output, json::object{{"file", a.output}}), o);
  return 0;
}

} // namespace

void add_graph_command(CLI::App& app, command_list& out) {
  auto a = std::make_shared<graph_args>();
  auto* graph = app.add_subcommand("graph", "Draw a plan's DAG (a ProlexOutput file) or a request's with its steps' "
                                            "states, as DOT, Mermaid or SVG");
  graph->add_option("plan", a->subject, "ProlexOutput JSON file, or a request id")->required();
  graph->add_option("--format", a->format, "dot (Graphviz), mermaid or svg (rendered with Graphviz)")
    ->check(CLI::IsMember({"dot", "mermaid", "svg"}));
  graph->add_option("--output,-o", a->output, "Write to this file instead of stdout");
  out.push_back({graph, [a](const common_options& o) { return show_graph(*a, o); }});
}

} // namespace opexctl
