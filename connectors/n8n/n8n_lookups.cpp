// Lookups the n8n operations share: workflows by id or name, tags, activation.
#include "n8n_op.hpp"

namespace opex::connectors::n8n_detail {

// -- lookups ------------------------------------------------------------------------------------

/// Finds a workflow by id (payload workflow_id) or exact name; `cb` gets it or null.
void find_workflow(const op_ptr& op, const std::string& id, const std::string& name, value_cb cb) {
  if (!id.empty()) {
    op->api("GET", "/workflows/" + url_encode(id), std::nullopt,
            [cb](int status, json::value v) { cb(status == 404 ? json::value(nullptr) : std::move(v)); }, {404});
    return;
  }
  op->api("GET", "/workflows?limit=250&name=" + url_encode(name), std::nullopt, [op, name, cb](int, json::value v) {
    if (v.is_object())
      if (const auto* data = get_member(v.get_object(), "data"); data && data->is_array())
        for (const auto& w : data->get_array())
          if (w.is_object() && get_string(w.get_object(), "name") == std::string_view(name)) {
            // The list carries the whole workflow in 1.x; read it once more to be sure.
            auto wid = std::string(get_string(w.get_object(), "id").value_or(""));
            op->api("GET", "/workflows/" + url_encode(wid), std::nullopt, [cb](int, json::value full) { cb(std::move(full)); });
            return;
          }
    cb(nullptr);
  });
}

/// Creates the tags `missing[i...]`, recording their ids in `known`, then calls `finish`.
void create_tags(const op_ptr& op, std::shared_ptr<std::map<std::string, std::string>> known,
                 std::shared_ptr<std::vector<std::string>> missing, std::size_t i, std::function<void()> finish) {
  if (i == missing->size()) {
    finish();
    return;
  }
  op->api("POST", "/tags", json::value(json::object{{"name", (*missing)[i]}}),
          [op, known, missing, i, finish = std::move(finish)](int, json::value t) mutable {
            if (t.is_object())
              (*known)[(*missing)[i]] = std::string(get_string(t.get_object(), "id").value_or(""));
            create_tags(op, known, missing, i + 1, std::move(finish));
          });
}

/// Tag ids for names, creating the missing tags.
void ensure_tags(const op_ptr& op, std::vector<std::string> names, std::function<void(json::array)> cb) {
  op->api("GET", "/tags?limit=250", std::nullopt, [op, names = std::move(names), cb](int, json::value v) {
    auto known = std::make_shared<std::map<std::string, std::string>>();
    if (v.is_object())
      if (const auto* data = get_member(v.get_object(), "data"); data && data->is_array())
        for (const auto& t : data->get_array())
          if (t.is_object())
            (*known)[std::string(get_string(t.get_object(), "name").value_or(""))] =
              std::string(get_string(t.get_object(), "id").value_or(""));
    auto missing = std::make_shared<std::vector<std::string>>();
    for (const auto& n : names)
      if (!known->contains(n))
        missing->push_back(n);
    create_tags(op, known, missing, 0, [known, names, cb]() {
      json::array ids;
      for (const auto& n : names)
        ids.push_back(json::object{{"id", (*known)[n]}});
      cb(std::move(ids));
    });
  });
}

/// Activates or deactivates when the workflow is not already so.
void set_active(const op_ptr& op, const std::string& id, bool now_active, bool wanted, std::function<void(bool)> cb) {
  if (now_active == wanted) {
    cb(now_active);
    return;
  }
  op->api("POST", "/workflows/" + url_encode(id) + (wanted ? "/activate" : "/deactivate"), std::nullopt,
          [cb, wanted](int, json::value) { cb(wanted); });
}

std::vector<std::string> strings_of(const json::object& o, std::string_view key) {
  std::vector<std::string> out;
  if (const auto* v = get_member(o, key); v && v->is_array())
    for (const auto& s : v->get_array())
      if (s.is_string())
        out.emplace_back(s.get_string());
  return out;
}

} // namespace opex::connectors::n8n_detail
