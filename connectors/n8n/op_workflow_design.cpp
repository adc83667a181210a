// The workflow_design operation (N8N_WORKFLOW_DESIGN): a spec from a model when one is configured,
// else from the template; checked before it is returned.
#include "n8n_op.hpp"

namespace opex::connectors {

namespace n8n_detail {

// -- workflow_design ---------------------------------------------------------------------------------

json::object node(std::string id, std::string name, std::string type, double version, int x, json::object parameters) {
  return json::object{{"id", std::move(id)},   {"name", std::move(name)}, {"type", std::move(type)},
                      {"typeVersion", version}, {"position", json::array{x, 0}}, {"parameters", std::move(parameters)}};
}

std::string node_id(int i) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "0b9e5b1c-0000-4000-8000-%012d", i);
  return buf;
}


} // namespace n8n_detail

using namespace n8n_detail;

json::object n8n_connector::template_design(const json::object& p, int max_nodes) {
  std::string goal(get_string(p, "goal").value_or(get_string(p, "description").value_or("workflow")));
  std::string name(get_string(p, "workflow_name").value_or(""));
  if (name.empty())
    name = "AUTO_PROLEX_" + slug(goal);
  std::string trigger(get_string(p, "trigger_type").value_or("webhook"));
  json::array nodes;
  json::object connections;
  json::array notes;
  std::string previous;
  int x = 0;
  auto link = [&](const std::string& from, const std::string& to) {
    connections[from] = json::object{
      {"main", json::array{json::array{json::object{{"node", to}, {"type", "main"}, {"index", 0}}}}}};
  };
  if (trigger == "schedule") {
    nodes.push_back(node(node_id(1), "Schedule", "n8n-nodes-base.scheduleTrigger", 1.2, x,
                         json::object{{"rule", json::object{{"interval", json::array{json::object{{"field", "hours"}}}}}}}));
    previous = "Schedule";
  } else if (trigger == "webhook") {
    auto path = slug(name);
    auto wh = node(node_id(1), "Webhook", "n8n-nodes-base.webhook", 2, x,
                   json::object{{"httpMethod", "POST"}, {"path", path}, {"responseMode", "lastNode"}, {"options", json::object{}}});
    wh["webhookId"] = node_id(101);
    nodes.push_back(std::move(wh));
    previous = "Webhook";
  } else {
    if (trigger != "manual")
      notes.emplace_back("trigger " + trigger + " has no template: a manual trigger stands in");
    nodes.push_back(node(node_id(1), "Manual", "n8n-nodes-base.manualTrigger", 1, x, json::object{}));
    previous = "Manual";
  }
  std::vector<std::string> actions;
  if (const auto* steps = get_member(p, "steps"); steps && steps->is_array())
    for (const auto& s : steps->get_array())
      if (s.is_object())
        if (auto a = get_string(s.get_object(), "action"))
          actions.emplace_back(*a);
  if (actions.empty())
    actions.push_back(goal);
  int room = std::max(1, max_nodes - 1);
  if (static_cast<int>(actions.size()) > room) {
    notes.emplace_back(std::to_string(actions.size() - room) + " step(s) merged to respect max_nodes " + std::to_string(max_nodes));
    std::string merged;
    for (std::size_t i = room - 1; i < actions.size(); ++i)
      merged += (merged.empty() ? "" : "; ") + actions[i];
    actions.resize(room - 1);
    actions.push_back(merged);
  }
  for (std::size_t i = 0; i < actions.size(); ++i) {
    x += 220;
    auto n = "Step " + std::to_string(i + 1);
    json::object params{
      {"mode", "manual"},
      {"includeOtherFields", true},
      {"assignments", json::object{{"assignments", json::array{json::object{{"id", "s" + std::to_string(i + 1)},
                                                                            {"name", "step_" + std::to_string(i + 1)},
                                                                            {"type", "string"},
                                                                            {"value", actions[i]}}}}}},
      {"options", json::object{}}};
    nodes.push_back(node(node_id(static_cast<int>(i) + 2), n, "n8n-nodes-base.set", 3.4, x, std::move(params)));
    link(previous, n);
    previous = n;
  }
  json::object spec{{"name", name}, {"nodes", std::move(nodes)}, {"connections", std::move(connections)},
                    {"settings", json::object{{"executionOrder", "v1"}}}};
  auto count = static_cast<std::int64_t>(spec.at("nodes").as_array().size());
  return json::object{{"spec", std::move(spec)},
                      {"workflow_name", name},
                      {"node_count", count},
                      {"designed_by", "template"},
                      {"credentials_used", json::array{}},
                      {"notes", std::move(notes)}};
}

std::vector<std::string> n8n_connector::check_design(const json::object& spec, int max_nodes,
                                                     const std::vector<std::string>& credential_ids) {
  std::vector<std::string> problems;
  const auto* nodes = get_member(spec, "nodes");
  if (!nodes || !nodes->is_array() || nodes->get_array().empty()) {
    problems.emplace_back("nodes must be a non-empty list");
    return problems;
  }
  if (static_cast<int>(nodes->get_array().size()) > max_nodes)
    problems.push_back(std::to_string(nodes->get_array().size()) + " nodes, more than max_nodes " + std::to_string(max_nodes));
  std::set<std::string> names;
  for (const auto& n : nodes->get_array()) {
    if (!n.is_object()) {
      problems.emplace_back("a node is not an object");
      continue;
    }
    const auto& o = n.get_object();
    auto name = get_string(o, "name");
    auto type = get_string(o, "type");
    if (!name || name->empty())
      problems.emplace_back("a node has no name");
    else if (!names.insert(std::string(*name)).second)
      problems.push_back("two nodes are named " + std::string(*name));
    if (!type || (!type->starts_with("n8n-nodes-base.") && !type->starts_with("@n8n/")))
      problems.push_back("node " + std::string(name.value_or("?")) + " has no n8n node type");
    if (const auto* v = get_member(o, "typeVersion"); !v || !v->is_number())
      problems.push_back("node " + std::string(name.value_or("?")) + " has no typeVersion");
    if (const auto* pos = get_member(o, "position"); !pos || !pos->is_array() || pos->get_array().size() != 2)
      problems.push_back("node " + std::string(name.value_or("?")) + " has no position [x, y]");
    if (const auto* params = get_member(o, "parameters"); !params || !params->is_object())
      problems.push_back("node " + std::string(name.value_or("?")) + " has no parameters object");
    if (const auto* creds = get_member(o, "credentials"); creds && creds->is_object())
      for (const auto& c : creds->get_object()) {
        std::string id = c.value().is_object() ? std::string(get_string(c.value().get_object(), "id").value_or("")) : "";
        if (std::find(credential_ids.begin(), credential_ids.end(), id) == credential_ids.end())
          problems.push_back("node " + std::string(name.value_or("?")) + " uses credential " + std::string(c.key())
                             + " that does not exist on the instance");
      }
  }
  if (const auto* c = get_member(spec, "connections"); c && c->is_object()) {
    for (const auto& from : c->get_object()) {
      if (!names.contains(std::string(from.key())))
        problems.push_back("connections start from unknown node " + std::string(from.key()));
      if (!from.value().is_object())
        continue;
      for (const auto& kind : from.value().get_object())
        if (kind.value().is_array())
          for (const auto& outputs : kind.value().get_array())
            if (outputs.is_array())
              for (const auto& l : outputs.get_array())
                if (l.is_object())
                  if (auto to = get_string(l.get_object(), "node"); to && !names.contains(std::string(*to)))
                    problems.push_back("connections lead to unknown node " + std::string(*to));
    }
  } else {
    problems.emplace_back("connections must be an object");
  }
  return problems;
}


namespace n8n_detail {

namespace {

/// The template design with one more note saying why the model's was not used.
void template_instead(const op_ptr& op, json::object templ, const std::string& why) {
  json::array notes = templ.at("notes").as_array();
  notes.emplace_back(why + ": template design");
  templ["notes"] = std::move(notes);
  op->succeed(std::move(templ));
}

/// The model's answer: its design when check_design accepts it, else the template.
void model_answered(const op_ptr& op, int max_nodes, const std::vector<std::string>& ids, json::object templ,
                    result<llm_response> answer) {
  if (!answer)
    return template_instead(op, std::move(templ), "the model was not used (" + answer.error().message + ")");
  auto parsed = parse_json(answer->text);
  std::vector<std::string> problems;
  if (!parsed || !parsed->is_object())
    problems.emplace_back("the model's design is not one JSON object");
  else
    problems = n8n_connector::check_design(parsed->get_object(), max_nodes, ids);
  if (!problems.empty()) {
    std::string why;
    for (const auto& pr : problems)
      why += (why.empty() ? "" : "; ") + pr;
    return template_instead(op, std::move(templ), "the model's design was refused (" + why + ")");
  }
  auto spec = std::move(parsed).value().as_object();
  spec["name"] = templ.at("workflow_name");
  if (!spec.contains("settings"))
    spec["settings"] = json::object{{"executionOrder", "v1"}};
  json::array used;
  for (const auto& n : spec.at("nodes").as_array())
    if (const auto* c = n.as_object().if_contains("credentials"); c && c->is_object())
      for (const auto& kv : c->as_object())
        if (kv.value().is_object())
          used.emplace_back(get_string(kv.value().as_object(), "id").value_or(""));
  auto count = static_cast<std::int64_t>(spec.at("nodes").as_array().size());
  op->succeed(json::object{{"spec", std::move(spec)},
                           {"workflow_name", templ.at("workflow_name")},
                           {"node_count", count},
                           {"designed_by", "llm"},
                           {"model", answer->model},
                           {"usage", json::object{{"input_tokens", answer->usage.input_tokens},
                                                  {"output_tokens", answer->usage.output_tokens},
                                                  {"cost_usd", answer->usage.cost_usd}}},
                           {"credentials_used", std::move(used)},
                           {"notes", templ.at("notes")}});
}

/// Asks the design model, allowed only the credentials `ids` (`listed` as the prompt shows them).
void ask_model(const op_ptr& op, int max_nodes, json::object templ, std::vector<std::string> ids, json::array listed) {
  auto& st = *op->im();
  connectors::llm_request r;
  r.system =
    "You design n8n 1.x workflows. Answer with ONE bare JSON object (no prose, no Markdown, no code fence): "
    "{\"name\": string, \"nodes\": [{\"id\", \"name\", \"type\" (n8n-nodes-base.*), \"typeVersion\", \"position\": [x, y], "
    "\"parameters\": {...}, \"credentials\"?: {type: {\"id\", \"name\"}}}], \"connections\": {from node name: {\"main\": "
    "[[{\"node\": to node name, \"type\": \"main\", \"index\": 0}]]}}, \"settings\": {\"executionOrder\": \"v1\"}}. At most "
    + std::to_string(max_nodes) + " nodes. Use only these existing credentials: " + json::serialize(listed)
    + ". Name the workflow " + std::string(templ.at("workflow_name").as_string()) + ".";
  r.messages.push_back({"user", "Design request: " + json::serialize(op->payload())});
  st.llm->complete(st.design_llm, r, [op, max_nodes, ids, templ](result<llm_response> answer) mutable {
    asio::post(op->im()->io, [op, max_nodes, ids, templ, answer = std::move(answer)]() mutable {
      if (!op->over())
        model_answered(op, max_nodes, ids, std::move(templ), std::move(answer));
    });
  });
}

} // namespace

void design(const op_ptr& op, int max_nodes) {
  auto templ = n8n_connector::template_design(op->payload(), max_nodes);
  auto& im = *op->im();
  if (!im.llm || !im.llm->settings().find(im.design_llm)) {
    op->succeed(std::move(templ));
    return;
  }
  // Credentials the design may use: the instance's (internal API), or none without a login.
  if (op->inst().owner_email.empty()) {
    ask_model(op, max_nodes, std::move(templ), {}, {});
    return;
  }
  op->rest("GET", "/credentials", std::nullopt, [op, max_nodes, templ](int, json::value v) {
    std::vector<std::string> ids;
    json::array listed;
    if (const auto* data = find_path(v, "data"); data && data->is_array())
      for (const auto& c : data->get_array())
        if (c.is_object()) {
          ids.emplace_back(get_string(c.get_object(), "id").value_or(""));
          listed.push_back(json::object{{"id", get_string(c.get_object(), "id").value_or("")},
                                        {"name", get_string(c.get_object(), "name").value_or("")},
                                        {"type", get_string(c.get_object(), "type").value_or("")}});
        }
    ask_model(op, max_nodes, templ, std::move(ids), std::move(listed));
  });
}

} // namespace n8n_detail

} // namespace opex::connectors
