// Packaged workflows (opex/packaged_workflows.hpp).
#include "opex/packaged_workflows.hpp"

#include "opex/json_util.hpp"

namespace opex {

namespace json = boost::json;

namespace {

error_info workflows_error(std::string_view origin, const std::string& key, std::string reason) {
  return make_error(error_code::config_error, std::string(origin) + ": " + key + ": " + reason,
                    json::object{{"path", origin}, {"key", key}, {"reason", reason}});
}

std::string text_of(const json::object& o, std::string_view key) {
  const auto* v = get_member(o, key);
  if (!v || v->is_null())
    return {};
  if (v->is_string())
    return std::string(v->get_string());
  if (v->is_int64())
    return std::to_string(v->get_int64());
  return {};
}

result<std::vector<packaged_workflow>> from_json(const json::value& doc, std::string_view origin) {
  if (!doc.is_object())
    return workflows_error(origin, "(root)", "must be a mapping of categories");
  std::vector<packaged_workflow> out;
  for (const auto& [category, list] : doc.get_object()) {
    if (category == "metadata" || !list.is_array())
      continue;
    std::size_t i = 0;
    for (const auto& e : list.get_array()) {
      const auto where = std::string(category) + "[" + std::to_string(i++) + "]";
      if (!e.is_object())
        return workflows_error(origin, where, "must be a mapping");
      packaged_workflow w{text_of(e.get_object(), "id"), text_of(e.get_object(), "name"),
                          text_of(e.get_object(), "role"), std::string(category), text_of(e.get_object(), "tool_id")};
      if (w.id.empty() || w.name.empty())
        return workflows_error(origin, where, "needs an id and a name");
      out.push_back(std::move(w));
    }
  }
  return out;
}

} // namespace

result<std::vector<packaged_workflow>> load_packaged_workflows(const std::string& path) {
  auto doc = read_yaml_file(path);
  if (!doc)
    return doc.error();
  return from_json(*doc, path);
}

result<std::vector<packaged_workflow>> parse_packaged_workflows(std::string_view yaml, std::string_view origin) {
  auto doc = parse_yaml(yaml, origin);
  if (!doc)
    return doc.error();
  return from_json(*doc, origin);
}

} // namespace opex
