// The workflow_test operation (N8N_WORKFLOW_TEST): runs the workflow's scenarios and checks their executions.
#include "n8n_op.hpp"

namespace opex::connectors::n8n_detail {

// -- workflow_test ----------------------------------------------------------------------------------

/// The node a test run starts from: a trigger (webhook, manual, schedule, any *Trigger), else
/// a node nothing connects to.
const json::object* trigger_node(const json::object& workflow) {
  const auto* nodes = get_member(workflow, "nodes");
  if (!nodes || !nodes->is_array())
    return nullptr;
  for (const auto& n : nodes->get_array())
    if (n.is_object())
      if (auto type = get_string(n.get_object(), "type");
          type && (type->ends_with("Trigger") || type->ends_with(".webhook") || type->ends_with(".formTrigger")))
        return &n.get_object();
  std::set<std::string> targets;
  if (const auto* c = get_member(workflow, "connections"); c && c->is_object())
    for (const auto& from : c->get_object())
      for (const auto& kind : from.value().get_object())
        for (const auto& outputs : kind.value().get_array())
          for (const auto& link : outputs.get_array())
            if (link.is_object())
              targets.insert(std::string(get_string(link.get_object(), "node").value_or("")));
  for (const auto& n : nodes->get_array())
    if (n.is_object() && !targets.contains(std::string(get_string(n.get_object(), "name").value_or(""))))
      return &n.get_object();
  return nullptr;
}

/// Reads an execution: status, duration, last node, its output items, errors.
json::object read_execution(const json::value& execution) {
  json::object r;
  if (!execution.is_object())
    return r;
  const auto& e = execution.get_object();
  r["execution_id"] = get_string(e, "id").value_or("");
  r["status"] = get_string(e, "status").value_or("unknown");
  auto started = get_string(e, "startedAt");
  auto stopped = get_string(e, "stoppedAt");
  if (started && stopped)
    r["duration_ms"] = iso_ms(*stopped) - iso_ms(*started);
  json::array errors;
  json::array output;
  std::string last;
  if (const auto* rd = find_path(execution, "data.resultData"); rd && rd->is_object()) {
    const auto& result = rd->get_object();
    last = std::string(get_string(result, "lastNodeExecuted").value_or(""));
    if (const auto* err = get_member(result, "error"); err && err->is_object()) {
      const auto& eo = err->get_object();
      std::string node;
      if (const auto* n = get_member(eo, "node"); n && n->is_object())
        node = std::string(get_string(n->get_object(), "name").value_or(""));
      errors.push_back(json::object{{"node", node}, {"message", get_string(eo, "message").value_or("error")}});
    }
    if (const auto* run = get_member(result, "runData"); run && run->is_object()) {
      for (const auto& kv : run->get_object()) {
        if (!kv.value().is_array())
          continue;
        for (const auto& task : kv.value().get_array()) {
          if (!task.is_object())
            continue;
          if (const auto* err = get_member(task.get_object(), "error"); err && err->is_object() && errors.empty())
            errors.push_back(json::object{{"node", kv.key()},
                                          {"message", get_string(err->get_object(), "message").value_or("error")}});
        }
      }
      if (const auto* tasks = run->get_object().if_contains(last); tasks && tasks->is_array() && !tasks->get_array().empty())
        if (const auto* main = find_path(tasks->get_array().back(), "data.main"); main && main->is_array())
          for (const auto& branch : main->get_array())
            if (branch.is_array())
              for (const auto& item : branch.get_array())
                if (item.is_object())
                  if (const auto* j = get_member(item.get_object(), "json"))
                    output.push_back(*j);
    }
  }
  r["last_node"] = last;
  r["output"] = std::move(output);
  r["errors"] = std::move(errors);
  return r;
}

struct test_run {
  op_ptr op;
  json::object workflow;  ///< from the internal API (what the editor would run)
  std::string workflow_id;
  std::string workflow_name;
  std::string trigger;
  bool webhook_trigger = false;
  json::array scenarios;  ///< [{name, input, expected_output?}]
  json::array results;
  std::size_t next = 0;
  chr::milliseconds timeout{60000};
  bool validate_output = false;
  json::value expect;
};

void run_scenario(const std::shared_ptr<test_run>& t);

void finish_test(const std::shared_ptr<test_run>& t) {
  auto& op = t->op;
  json::object data{{"workflow_id", t->workflow_id}, {"workflow_name", t->workflow_name}};
  bool ok = true;
  json::array errors;
  for (const auto& r : t->results) {
    const auto& ro = r.get_object();
    if (ro.at("test_status") != "success")
      ok = false;
    for (const auto& e : ro.at("errors").get_array())
      errors.push_back(e);
  }
  const auto& first = t->results.front().get_object();
  for (auto key : {"execution_id", "status", "duration_ms", "last_node", "output"})
    if (first.contains(key))
      data[key] = first.at(key);
  data["test_status"] = ok ? "success" : "failed";
  data["errors"] = errors;
  data["scenarios"] = t->results;
  if (ok) {
    op->succeed(std::move(data));
    return;
  }
  std::string message = errors.empty() ? "an expectation was not met"
                                       : std::string(errors.front().at("message").as_string());
  auto err = make_error(error_code::tool_execution_failed, "n8n workflow " + t->workflow_name + " failed its test: " + message,
                        std::move(data));
  op->fail(std::move(err));
}

void poll_execution(const std::shared_ptr<test_run>& t, std::string execution_id, json::object scenario,
                    chr::steady_clock::time_point deadline) {
  auto& op = t->op;
  op->api("GET", "/executions/" + url_encode(execution_id) + "?includeData=true", std::nullopt,
          [t, execution_id, scenario, deadline](int status, json::value v) {
            auto& run_op = t->op;
            std::string state;
            bool finished = false;
            if (status == 200 && v.is_object()) {
              state = std::string(get_string(v.get_object(), "status").value_or(""));
              if (const auto* f = get_member(v.get_object(), "finished"); f && f->is_bool())
                finished = f->get_bool();
            }
            bool done = finished || state == "success" || state == "error" || state == "crashed" || state == "canceled";
            if (!done) {
              if (chr::steady_clock::now() >= deadline) {
                run_op->fail(make_error(error_code::timeout,
                                    "n8n workflow " + t->workflow_name + " was still running after its test timeout",
                                    json::object{{"execution_id", execution_id},
                                                 {"timeout_seconds", t->timeout.count() / 1000}}));
                return;
              }
              run_op->timer().expires_after(chr::milliseconds(run_op->im()->settings.poll_interval_ms));
              run_op->timer().async_wait([t, execution_id, scenario, deadline](boost::system::error_code ec) {
                if (!ec && !t->op->over())
                  poll_execution(t, execution_id, scenario, deadline);
              });
              return;
            }
            auto r = read_execution(v);
            r["name"] = scenario.contains("name") ? scenario.at("name") : json::value("default");
            bool ok = r.at("status") == "success";
            // Expectations: `expect` on the first output item; expected_output when asked.
            const json::value* expected = nullptr;
            if (!t->expect.is_null())
              expected = &t->expect;
            if (t->validate_output)
              if (const auto* eo = scenario.if_contains("expected_output"))
                expected = eo;
            if (ok && expected) {
              const auto& out = r.at("output").as_array();
              if (out.empty() || !contains_subset(out.front(), *expected)) {
                ok = false;
                r["errors"].as_array().push_back(
                  json::object{{"node", r.at("last_node")},
                               {"message", "the output does not match the expectation"},
                               {"expected", *expected},
                               {"actual", out.empty() ? json::value(nullptr) : out.front()}});
              }
            }
            r["test_status"] = ok ? "success" : "failed";
            t->results.push_back(std::move(r));
            run_scenario(t);
          },
          {404});
}

void run_scenario(const std::shared_ptr<test_run>& t) {
  if (t->next >= t->scenarios.size()) {
    finish_test(t);
    return;
  }
  auto scenario = t->scenarios[t->next++].as_object();
  json::value input = scenario.contains("input") ? scenario.at("input") : json::value(json::object{});
  json::object item_json;
  if (t->webhook_trigger)
    item_json = json::object{{"headers", json::object{}}, {"params", json::object{}}, {"query", json::object{}}, {"body", input}};
  else if (input.is_object())
    item_json = input.get_object();
  else
    item_json = json::object{{"value", input}};
  auto wf = t->workflow;
  wf["pinData"] = json::object{{t->trigger, json::array{json::object{{"json", std::move(item_json)}}}}};
  json::object body{{"workflowData", std::move(wf)}, {"triggerToStartFrom", json::object{{"name", t->trigger}}}};
  t->op->rest("POST", "/workflows/" + url_encode(t->workflow_id) + "/run", json::value(std::move(body)),
              [t, scenario](int status, json::value v) {
                std::string execution;
                if (const auto* id = find_path(v, "data.executionId"); id && id->is_string())
                  execution = std::string(id->get_string());
                if (status != 200 || execution.empty()) {
                  t->op->fail(make_error(error_code::protocol_error, "n8n did not start the test run",
                                         json::object{{"status", status}, {"body", json::serialize(v).substr(0, 1024)}}));
                  return;
                }
                poll_execution(t, execution, scenario, chr::steady_clock::now() + t->timeout);
              });
}

void test_workflow(const op_ptr& op) {
  const auto& p = op->payload();
  auto t = std::make_shared<test_run>();
  t->op = op;
  if (const auto* s = get_member(p, "timeout_seconds"); s && s->is_int64())
    t->timeout = chr::seconds(std::clamp<std::int64_t>(s->get_int64(), 1, 300));
  if (const auto* v = get_member(p, "validate_output"); v && v->is_bool())
    t->validate_output = v->get_bool();
  if (const auto* e = get_member(p, "expect"); e && e->is_object())
    t->expect = *e;
  if (const auto* s = get_member(p, "test_scenarios"); s && s->is_array() && !s->get_array().empty())
    t->scenarios = s->get_array();
  else
    t->scenarios.push_back(json::object{
      {"name", "default"}, {"input", p.contains("test_data") ? p.at("test_data") : json::value(json::object{})}});
  std::string id(get_string(p, "workflow_id").value_or(""));
  std::string name(get_string(p, "workflow_name").value_or(""));
  find_workflow(op, id, name, [t, id, name](json::value found) {
    if (!found.is_object()) {
      t->op->fail(make_error(error_code::not_found, "no workflow " + (id.empty() ? name : id) + " to test",
                          json::object{{"workflow_id", id}, {"workflow_name", name}}));
      return;
    }
    t->workflow_id = std::string(get_string(found.get_object(), "id").value_or(""));
    t->workflow_name = std::string(get_string(found.get_object(), "name").value_or(name));
    t->op->rest("GET", "/workflows/" + url_encode(t->workflow_id), std::nullopt, [t](int, json::value v) {
      const auto* data = find_path(v, "data");
      if (!data || !data->is_object()) {
        t->op->fail(make_error(error_code::protocol_error, "n8n's internal API answered without the workflow"));
        return;
      }
      t->workflow = data->get_object();
      const auto* trigger = trigger_node(t->workflow);
      if (!trigger) {
        t->op->fail(make_error(error_code::tool_execution_failed, "workflow " + t->workflow_name + " has no node to start from",
                               json::object{{"workflow_id", t->workflow_id}}));
        return;
      }
      t->trigger = std::string(get_string(*trigger, "name").value_or(""));
      t->webhook_trigger = get_string(*trigger, "type").value_or("").ends_with(".webhook");
      run_scenario(t);
    });
  });
}


} // namespace opex::connectors::n8n_detail
