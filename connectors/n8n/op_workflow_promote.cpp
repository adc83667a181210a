// The workflow_promote operation (N8N_WORKFLOW_PROMOTE).
#include "n8n_op.hpp"

namespace opex::connectors::n8n_detail {

// -- workflow_promote -------------------------------------------------------------------------------

void promote(const op_ptr& op, const n8n_instance_settings* target) {
  const auto& p = op->payload();
  std::string id(get_string(p, "workflow_id").value_or(""));
  std::string name(get_string(p, "workflow_name").value_or(""));
  std::string from(get_string(p, "from").value_or("sandbox"));
  std::string to(get_string(p, "to").value_or("production"));
  auto flag = [&p](std::string_view key, bool dflt) {
    const auto* v = get_member(p, key);
    return v && v->is_bool() ? v->get_bool() : dflt;
  };
  bool activate = flag("activate_immediately", false) && target->allow_activation;
  bool backup_existing = flag("backup_existing", true);
  bool rollback = flag("rollback_on_error", true);
  const auto* source = &op->inst();
  find_workflow(op, id, name, [op, source, target, name, from, to, activate, backup_existing, rollback](json::value wf) {
    if (!wf.is_object()) {
      op->fail(make_error(error_code::not_found, "no workflow " + name + " in " + from + " to promote",
                          json::object{{"workflow_name", name}, {"from", from}}));
      return;
    }
    const auto& w = wf.get_object();
    std::string sid(get_string(w, "id").value_or(""));
    std::string wname(get_string(w, "name").value_or(name));
    json::object source_info{{"instance", source->name}, {"workflow_id", sid}, {"environment", from}};
    if (source == target) {
      // One instance serves both: the promotion is the production tag (and activation if allowed).
      std::vector<std::string> tags;
      for (const auto& t : tag_names(wf))
        tags.emplace_back(t.as_string());
      if (std::find(tags.begin(), tags.end(), target->production_tag) == tags.end())
        tags.push_back(target->production_tag);
      bool was_active = w.contains("active") && w.at("active").is_bool() && w.at("active").as_bool();
      ensure_tags(op, tags, [op, sid, wname, source_info, to, activate, was_active](json::array ids) {
        op->api("PUT", "/workflows/" + url_encode(sid) + "/tags", json::value(std::move(ids)),
                [op, sid, wname, source_info, to, activate, was_active](int, json::value set) {
                  set_active(op, sid, was_active, activate || was_active, [op, sid, wname, source_info, to, set](bool now) {
                    json::array names;
                    if (set.is_array())
                      for (const auto& t : set.get_array())
                        if (t.is_object())
                          names.emplace_back(get_string(t.get_object(), "name").value_or(""));
                    op->succeed(json::object{{"status", "promoted"},
                                             {"mode", "tag"},
                                             {"workflow_name", wname},
                                             {"source", source_info},
                                             {"target", json::object{{"instance", op->inst().name},
                                                                     {"workflow_id", sid},
                                                                     {"environment", to}}},
                                             {"tags", std::move(names)},
                                             {"active", now}});
                  });
                });
      });
      return;
    }
    // Another instance: copy (create or update by name), tags, then activation if allowed.
    auto body = workflow_body(wname, w);
    std::vector<std::string> tags;
    for (const auto& t : tag_names(wf))
      tags.emplace_back(t.as_string());
    tags.push_back(target->production_tag);
    op->switch_instance(target);
    find_workflow(op, "", wname, [op, body, tags, wname, source_info, to, activate, backup_existing, rollback](json::value existing) {
      bool exists = existing.is_object();
      json::value backup = nullptr;
      if (exists && backup_existing)
        backup = existing;
      auto after_write = [op, tags, wname, source_info, to, activate, exists, backup, rollback](int, json::value written) {
        std::string tid(get_string(written.get_object(), "id").value_or(""));
        ensure_tags(op, tags, [op, tid, wname, source_info, to, activate, exists, backup, rollback](json::array ids) {
          op->api("PUT", "/workflows/" + url_encode(tid) + "/tags", json::value(std::move(ids)),
                  [op, tid, wname, source_info, to, activate, exists, backup, rollback](int, json::value) {
                    auto finish = [op, tid, wname, source_info, to, exists, backup](bool now) {
                      json::object data{{"status", "promoted"},
                                        {"mode", "copy"},
                                        {"workflow_name", wname},
                                        {"source", source_info},
                                        {"target", json::object{{"instance", op->inst().name},
                                                                {"workflow_id", tid},
                                                                {"environment", to},
                                                                {"action", exists ? "updated" : "created"}}},
                                        {"active", now}};
                      if (!backup.is_null())
                        data["backup"] = json::object{{"workflow_id", get_string(backup.get_object(), "id").value_or("")},
                                                      {"updated_at", get_string(backup.get_object(), "updatedAt").value_or("")},
                                                      {"node_count", node_count(backup)},
                                                      {"workflow", backup}};
                      op->succeed(std::move(data));
                    };
                    if (!activate) {
                      finish(false);
                      return;
                    }
                    // Activation failures roll the copy back (the previous version, or nothing).
                    op->api(
                      "POST", "/workflows/" + url_encode(tid) + "/activate", std::nullopt,
                      [op, tid, finish, backup, rollback, exists](int status, json::value v) {
                        if (status >= 200 && status < 300) {
                          finish(true);
                          return;
                        }
                        auto reason = json::serialize(v).substr(0, 512);
                        auto fail = [op, status, reason, tid](std::string undone) {
                          op->fail(make_error(error_code::tool_execution_failed,
                                              "n8n refused to activate the promoted workflow",
                                              json::object{{"status", status}, {"body", reason},
                                                           {"workflow_id", tid}, {"rollback", undone}}));
                        };
                        if (!rollback) {
                          fail("none");
                        } else if (exists && !backup.is_null()) {
                          op->api("PUT", "/workflows/" + url_encode(tid),
                                  json::value(workflow_body(std::string(get_string(backup.get_object(), "name").value_or("")),
                                                            backup.get_object())),
                                  [fail](int, json::value) { fail("restored the previous version"); });
                        } else if (!exists) {
                          op->api("DELETE", "/workflows/" + url_encode(tid), std::nullopt,
                                  [fail](int, json::value) { fail("deleted the copy"); });
                        } else {
                          fail("none (no backup)");
                        }
                      },
                      {400, 409, 422, 500});
                  });
        });
      };
      if (exists)
        op->api("PUT", "/workflows/" + url_encode(std::string(get_string(existing.get_object(), "id").value_or(""))),
                json::value(body), after_write);
      else
        op->api("POST", "/workflows", json::value(body), after_write);
    });
  });
}


} // namespace opex::connectors::n8n_detail
