// The workflow_upsert operation (N8N_WORKFLOW_UPSERT).
#include "n8n_op.hpp"

namespace opex::connectors::n8n_detail {

// -- workflow_upsert ------------------------------------------------------------------------------

void upsert(const op_ptr& op) {
  const auto& p = op->payload();
  std::string name(get_string(p, "workflow_name").value_or(""));
  std::string id(get_string(p, "workflow_id").value_or(""));
  std::string mode(get_string(p, "mode").value_or("create_or_update"));
  const json::object* spec = nullptr;
  for (auto key : {"spec", "workflow_json"})
    if (const auto* s = get_member(p, key); s && s->is_object()) {
      spec = &s->get_object();
      break;
    }
  bool want_active = false;
  if (const auto* a = get_member(p, "active"); a && a->is_bool())
    want_active = a->get_bool();
  auto tags = strings_of(p, "tags");
  json::object body = spec ? workflow_body(name, *spec) : json::object{};
  find_workflow(op, id, name, [op, name, mode, body, want_active, tags, has_spec = spec != nullptr](json::value existing) {
    bool exists = existing.is_object();
    if (exists && mode == "create") {
      op->fail(make_error(error_code::conflict, "a workflow named " + name + " already exists",
                          json::object{{"workflow_name", name},
                                       {"workflow_id", get_string(existing.get_object(), "id").value_or("")}}));
      return;
    }
    if (!exists && mode == "update") {
      op->fail(make_error(error_code::not_found, "no workflow " + name + " to update", json::object{{"workflow_name", name}}));
      return;
    }
    if (!has_spec && !exists) {
      op->fail(make_error(error_code::payload_invalid, "a spec (or workflow_json) is needed to create " + name,
                          json::object{{"workflow_name", name}}));
      return;
    }
    auto after_write = [op, name, want_active, tags, exists](int, json::value written) {
      if (!written.is_object()) {
        op->fail(make_error(error_code::protocol_error, "n8n answered the write without the workflow"));
        return;
      }
      std::string wid(get_string(written.get_object(), "id").value_or(""));
      bool active = false;
      if (const auto* a = get_member(written.get_object(), "active"); a && a->is_bool())
        active = a->get_bool();
      auto nodes = node_count(written);
      auto finish = [op, name, wid, nodes, exists, want_active, active](json::array tag_list) {
        set_active(op, wid, active, want_active, [op, name, wid, nodes, exists, tag_list](bool now) {
          op->succeed(json::object{{"workflow_id", wid},
                                   {"workflow_name", name},
                                   {"status", exists ? "updated" : "created"},
                                   {"active", now},
                                   {"tags", tag_list},
                                   {"node_count", nodes},
                                   {"url", op->inst().base_url + "/workflow/" + wid}});
        });
      };
      if (tags.empty()) {
        finish(tag_names(written));
        return;
      }
      ensure_tags(op, tags, [op, wid, finish](json::array ids) {
        op->api("PUT", "/workflows/" + url_encode(wid) + "/tags", json::value(std::move(ids)),
                [finish](int, json::value set) {
                  json::array names;
                  if (set.is_array())
                    for (const auto& t : set.get_array())
                      if (t.is_object())
                        if (auto n = get_string(t.get_object(), "name"))
                          names.emplace_back(*n);
                  finish(std::move(names));
                });
      });
    };
    if (!exists) {
      op->api("POST", "/workflows", json::value(body), after_write);
      return;
    }
    std::string wid(get_string(existing.get_object(), "id").value_or(""));
    json::object update = has_spec ? body : workflow_body(name, existing.get_object());
    op->api("PUT", "/workflows/" + url_encode(wid), json::value(std::move(update)), after_write);
  });
}


} // namespace opex::connectors::n8n_detail
