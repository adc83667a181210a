// The workflow_promote operation (N8N_WORKFLOW_PROMOTE): on one instance, the production tag
// (and activation if allowed); across instances, a copy created or updated by name, its tags,
// then activation, rolled back when n8n refuses it.
#include "n8n_op.hpp"

#include <memory>

namespace opex::connectors::n8n_detail {

namespace {

/// What one promotion carries from call to call.
struct promotion {
  op_ptr op;
  const n8n_instance_settings* target = nullptr;
  std::string name, from, to;
  bool activate = false, backup_existing = true, rollback = true;
  json::object source_info;
  std::string workflow_name;  ///< as the source names it
  // copy mode
  json::object body;
  std::vector<std::string> tags;
  bool exists = false;
  json::value backup = nullptr;  ///< the target's previous version when backed up
  std::string target_id;
};
using promotion_ptr = std::shared_ptr<promotion>;

std::vector<std::string> tags_of(const json::value& wf) {
  std::vector<std::string> tags;
  for (const auto& t : tag_names(wf))
    tags.emplace_back(t.as_string());
  return tags;
}

/// One instance serves both environments: the promotion is the production tag.
void promote_by_tag(const promotion_ptr& pr, const json::object& w, const std::string& sid) {
  auto tags = tags_of(w);
  if (std::find(tags.begin(), tags.end(), pr->target->production_tag) == tags.end())
    tags.push_back(pr->target->production_tag);
  bool was_active = w.contains("active") && w.at("active").is_bool() && w.at("active").as_bool();
  ensure_tags(pr->op, tags, [pr, sid, was_active](json::array ids) {
    pr->op->api("PUT", "/workflows/" + url_encode(sid) + "/tags", json::value(std::move(ids)),
                [pr, sid, was_active](int, json::value set) {
                  set_active(pr->op, sid, was_active, pr->activate || was_active, [pr, sid, set](bool now) {
                    json::array names;
                    if (set.is_array())
                      for (const auto& t : set.get_array())
                        if (t.is_object())
                          names.emplace_back(get_string(t.get_object(), "name").value_or(""));
                    pr->op->succeed(json::object{{"status", "promoted"},
                                                 {"mode", "tag"},
                                                 {"workflow_name", pr->workflow_name},
                                                 {"source", pr->source_info},
                                                 {"target", json::object{{"instance", pr->op->inst().name},
                                                                         {"workflow_id", sid},
                                                                         {"environment", pr->to}}},
                                                 {"tags", std::move(names)},
                                                 {"active", now}});
                  });
                });
  });
}

/// The copy's answer: where it went, whether it is active, the backup of what it replaced.
void copy_promoted(const promotion_ptr& pr, bool active) {
  json::object data{{"status", "promoted"},
                    {"mode", "copy"},
                    {"workflow_name", pr->workflow_name},
                    {"source", pr->source_info},
                    {"target", json::object{{"instance", pr->op->inst().name},
                                            {"workflow_id", pr->target_id},
                                            {"environment", pr->to},
                                            {"action", pr->exists ? "updated" : "created"}}},
                    {"active", active}};
  if (!pr->backup.is_null()) {
    const auto& b = pr->backup.get_object();
    data["backup"] = json::object{{"workflow_id", get_string(b, "id").value_or("")},
                                  {"updated_at", get_string(b, "updatedAt").value_or("")},
                                  {"node_count", node_count(pr->backup)},
                                  {"workflow", pr->backup}};
  }
  pr->op->succeed(std::move(data));
}

/// n8n refused to activate the copy: restore the previous version or delete the copy
/// (rollback_on_error), then fail with what was undone.
void roll_back(const promotion_ptr& pr, int status, const json::value& answer) {
  auto reason = json::serialize(answer).substr(0, 512);
  auto fail = [pr, status, reason](std::string undone) {
    pr->op->fail(make_error(error_code::tool_execution_failed, "n8n refused to activate the promoted workflow",
                            json::object{{"status", status},
                                         {"body", reason},
                                         {"workflow_id", pr->target_id},
                                         {"rollback", undone}}));
  };
  const auto path = "/workflows/" + url_encode(pr->target_id);
  if (!pr->rollback) {
    fail("none");
  } else if (pr->exists && !pr->backup.is_null()) {
    const auto& b = pr->backup.get_object();
    pr->op->api("PUT", path, json::value(workflow_body(std::string(get_string(b, "name").value_or("")), b)),
                [fail](int, json::value) { fail("restored the previous version"); });
  } else if (!pr->exists) {
    pr->op->api("DELETE", path, std::nullopt, [fail](int, json::value) { fail("deleted the copy"); });
  } else {
    fail("none (no backup)");
  }
}

/// The copy is written: its tags, then activation when asked (rolled back when refused).
void copy_written(const promotion_ptr& pr) {
  ensure_tags(pr->op, pr->tags, [pr](json::array ids) {
    pr->op->api("PUT", "/workflows/" + url_encode(pr->target_id) + "/tags", json::value(std::move(ids)),
                [pr](int, json::value) {
                  if (!pr->activate) {
                    copy_promoted(pr, false);
                    return;
                  }
                  pr->op->api(
                    "POST", "/workflows/" + url_encode(pr->target_id) + "/activate", std::nullopt,
                    [pr](int status, json::value v) {
                      if (status >= 200 && status < 300)
                        copy_promoted(pr, true);
                      else
                        roll_back(pr, status, v);
                    },
                    {400, 409, 422, 500});
                });
  });
}

/// Another instance: create or update the workflow there by name.
void promote_by_copy(const promotion_ptr& pr, const json::object& w) {
  pr->body = workflow_body(pr->workflow_name, w);
  pr->tags = tags_of(w);
  pr->tags.push_back(pr->target->production_tag);
  pr->op->switch_instance(pr->target);
  find_workflow(pr->op, "", pr->workflow_name, [pr](json::value existing) {
    pr->exists = existing.is_object();
    if (pr->exists && pr->backup_existing)
      pr->backup = existing;
    auto after_write = [pr](int, json::value written) {
      pr->target_id = std::string(get_string(written.get_object(), "id").value_or(""));
      copy_written(pr);
    };
    if (pr->exists)
      pr->op->api("PUT", "/workflows/" + url_encode(std::string(get_string(existing.get_object(), "id").value_or(""))),
                  json::value(pr->body), after_write);
    else
      pr->op->api("POST", "/workflows", json::value(pr->body), after_write);
  });
}

} // namespace

void promote(const op_ptr& op, const n8n_instance_settings* target) {
  const auto& p = op->payload();
  auto flag = [&p](std::string_view key, bool dflt) {
    const auto* v = get_member(p, key);
    return v && v->is_bool() ? v->get_bool() : dflt;
  };
  auto pr = std::make_shared<promotion>();
  pr->op = op;
  pr->target = target;
  pr->name = std::string(get_string(p, "workflow_name").value_or(""));
  pr->from = std::string(get_string(p, "from").value_or("sandbox"));
  pr->to = std::string(get_string(p, "to").value_or("production"));
  pr->activate = flag("activate_immediately", false) && target->allow_activation;
  pr->backup_existing = flag("backup_existing", true);
  pr->rollback = flag("rollback_on_error", true);
  std::string id(get_string(p, "workflow_id").value_or(""));
  const auto* source = &op->inst();
  find_workflow(op, id, pr->name, [pr, source](json::value wf) {
    if (!wf.is_object()) {
      pr->op->fail(make_error(error_code::not_found, "no workflow " + pr->name + " in " + pr->from + " to promote",
                              json::object{{"workflow_name", pr->name}, {"from", pr->from}}));
      return;
    }
    const auto& w = wf.get_object();
    std::string sid(get_string(w, "id").value_or(""));
    pr->workflow_name = std::string(get_string(w, "name").value_or(pr->name));
    pr->source_info = json::object{{"instance", source->name}, {"workflow_id", sid}, {"environment", pr->from}};
    if (source == pr->target)
      promote_by_tag(pr, w, sid);
    else
      promote_by_copy(pr, w);
  });
}

} // namespace opex::connectors::n8n_detail
