// Loading of reference-format tool catalogues (tools.yml).
#include "opex/catalogue.hpp"

#include "opex/json_util.hpp"

#include <algorithm>
#include <array>
#include <filesystem>
#include <regex>

namespace opex {

namespace json = boost::json;

tool_target tool_target::of(std::string type, json::object spec) {
  tool_target t;
  t.type = std::move(type);
  t.spec = std::move(spec);
  return t;
}

std::string tool_target::text(std::string_view key, std::string_view fallback) const {
  return std::string(get_string(spec, key).value_or(fallback));
}

bool tool_definition::allowed_at(int level) const noexcept {
  return std::find(auto_allowed_levels.begin(), auto_allowed_levels.end(), level)
         != auto_allowed_levels.end();
}

namespace {

error_info catalogue_error(std::string_view origin, const std::string& where, std::string reason) {
  return make_error(error_code::config_error,
                    std::string(origin) + ": " + where + ": " + reason,
                    json::object{{"path", origin}, {"key", where}, {"reason", reason}});
}

template <std::size_t N>
std::optional<std::string> unknown_key(const json::object& obj,
                                       const std::array<std::string_view, N>& allowed) {
  for (const auto& kv : obj)
    if (std::find(allowed.begin(), allowed.end(), kv.key()) == allowed.end())
      return std::string(kv.key());
  return std::nullopt;
}

std::optional<std::vector<std::string>> string_list(const json::value& v) {
  if (!v.is_array())
    return std::nullopt;
  std::vector<std::string> out;
  for (const auto& item : v.get_array()) {
    if (!item.is_string())
      return std::nullopt;
    out.emplace_back(item.get_string());
  }
  return out;
}

} // namespace

result<tool_target> parse_tool_target(const json::value& v, std::string_view origin, const std::string& where) {
  if (!v.is_object())
    return catalogue_error(origin, where, "must be a mapping");
  const auto& obj = v.get_object();
  auto type = get_string(obj, "type");
  if (!type || type->empty())
    return catalogue_error(origin, where + ".type", "missing");
  json::object spec = obj;
  spec.erase("type");
  return tool_target::of(std::string(*type), std::move(spec));
}

namespace {

/// A tool's `constraints` mapping (docs/guarded-execution.md).
result<tool_constraints> parse_constraints(const json::value& c, std::string_view origin, const std::string& where) {
  static constexpr std::array<std::string_view, 4> ckeys{"max_executions_per_day", "requires_context",
                                                         "allowed_environments", "requires_confirmation"};
  if (!c.is_object())
    return catalogue_error(origin, where, "must be a mapping");
  const auto& co = c.get_object();
  if (auto k = unknown_key(co, ckeys))
    return catalogue_error(origin, where + "." + *k, "unknown key");
  tool_constraints out;
  if (const auto* m = get_member(co, "max_executions_per_day")) {
    if (!m->is_int64() || m->get_int64() < 0)
      return catalogue_error(origin, where + ".max_executions_per_day", "must be a non-negative integer");
    out.max_executions_per_day = static_cast<int>(m->get_int64());
  }
  if (const auto* r = get_member(co, "requires_context")) {
    auto list = string_list(*r);
    if (!list)
      return catalogue_error(origin, where + ".requires_context", "must be a list");
    out.requires_context = std::move(*list);
  }
  if (const auto* e = get_member(co, "allowed_environments")) {
    auto list = string_list(*e);
    if (!list)
      return catalogue_error(origin, where + ".allowed_environments", "must be a list");
    out.allowed_environments = std::move(*list);
  }
  if (const auto* rc = get_member(co, "requires_confirmation")) {
    if (!rc->is_bool())
      return catalogue_error(origin, where + ".requires_confirmation", "must be true or false");
    out.requires_confirmation = rc->get_bool();
  }
  return out;
}

/// `auto_allowed_levels`: a list of levels 0-9; null or empty: no automatic level.
result<std::vector<int>> parse_levels(const json::value& levels, std::string_view origin, const std::string& where) {
  std::vector<int> out;
  if (levels.is_null())
    return out;
  if (!levels.is_array())
    return catalogue_error(origin, where, "must be a list of levels");
  for (const auto& l : levels.get_array()) {
    if (!l.is_int64() || l.get_int64() < 0 || l.get_int64() > 9)
      return catalogue_error(origin, where, "levels are integers 0-9");
    out.push_back(static_cast<int>(l.get_int64()));
  }
  return out;
}

result<tool_definition> parse_tool(const json::value& v, std::string_view origin,
                                   const std::string& where) {
  static constexpr std::array<std::string_view, 15> keys{
    "id",          "name",           "description",     "category", "risk_level",
    "auto_allowed_levels", "target", "payload_schema", "response_schema", "constraints",
    "examples",    "cost_usd",       "timeout_ms",      "retry",    "keywords"};
  static const std::regex id_pattern("^[A-Z][A-Z0-9_]*$");
  if (!v.is_object())
    return catalogue_error(origin, where, "each tool must be a mapping");
  const auto& obj = v.get_object();
  if (auto k = unknown_key(obj, keys))
    return catalogue_error(origin, where + "." + *k, "unknown key");
  tool_definition t;
  auto id = get_string(obj, "id");
  if (!id || !std::regex_match(id->begin(), id->end(), id_pattern))
    return catalogue_error(origin, where + ".id", "missing or not matching ^[A-Z][A-Z0-9_]*$");
  t.id = std::string(*id);
  t.name = std::string(get_string(obj, "name").value_or(*id));
  t.description = std::string(get_string(obj, "description").value_or(""));
  auto category = get_string(obj, "category");
  if (!category)
    return catalogue_error(origin, where + ".category", "missing");
  t.category = std::string(*category);
  t.risk_level = std::string(get_string(obj, "risk_level").value_or("low"));
  if (t.risk_level != "low" && t.risk_level != "medium" && t.risk_level != "high")
    return catalogue_error(origin, where + ".risk_level", "must be low, medium or high");
  if (const auto* levels = get_member(obj, "auto_allowed_levels")) {
    auto parsed = parse_levels(*levels, origin, where + ".auto_allowed_levels");
    if (!parsed)
      return parsed.error();
    t.auto_allowed_levels = std::move(parsed).value();
  }
  const auto* target = get_member(obj, "target");
  if (!target)
    return catalogue_error(origin, where + ".target", "missing");
  auto parsed_target = parse_tool_target(*target, origin, where + ".target");
  if (!parsed_target)
    return parsed_target.error();
  t.target = std::move(parsed_target).value();
  t.payload_schema = std::string(get_string(obj, "payload_schema").value_or(""));
  t.response_schema = std::string(get_string(obj, "response_schema").value_or(""));
  if (const auto* c = get_member(obj, "constraints"); c && !c->is_null()) {
    auto constraints = parse_constraints(*c, origin, where + ".constraints");
    if (!constraints)
      return constraints.error();
    t.constraints = std::move(constraints).value();
  }
  if (const auto* cost = get_member(obj, "cost_usd")) {
    if (!cost->is_number() || cost->to_number<double>() < 0)
      return catalogue_error(origin, where + ".cost_usd", "must be a non-negative number (USD)");
    t.cost_usd = cost->to_number<double>();
  }
  if (const auto* tm = get_member(obj, "timeout_ms")) {
    if (!tm->is_int64() || tm->get_int64() <= 0)
      return catalogue_error(origin, where + ".timeout_ms", "must be a positive integer (ms)");
    t.timeout_ms = static_cast<int>(tm->get_int64());
  }
  if (const auto* r = get_member(obj, "retry")) {
    if (!r->is_object())
      return catalogue_error(origin, where + ".retry", "must be a mapping");
    t.retry = r->get_object();
  }
  if (const auto* ex = get_member(obj, "examples"); ex && ex->is_array())
    t.examples = ex->get_array();
  if (const auto* kw = get_member(obj, "keywords")) {
    if (!kw->is_array())
      return catalogue_error(origin, where + ".keywords", "must be a list of words or phrases");
    for (const auto& k : kw->get_array()) {
      if (!k.is_string() || k.get_string().empty())
        return catalogue_error(origin, where + ".keywords", "each keyword is a non-empty string");
      t.keywords.emplace_back(k.get_string());
    }
  }
  return t;
}

} // namespace

result<tool_catalogue> catalogue_from_json(const json::value& doc, std::string_view origin) {
  if (!doc.is_array())
    return catalogue_error(origin, "tools", "a catalogue is a YAML sequence of tools");
  std::vector<tool_definition> tools;
  tools.reserve(doc.get_array().size());
  std::size_t i = 0;
  for (const auto& item : doc.get_array()) {
    auto tool = parse_tool(item, origin, "tools[" + std::to_string(i++) + "]");
    if (!tool)
      return tool.error();
    for (const auto& existing : tools)
      if (existing.id == tool->id)
        return catalogue_error(origin, "tools[" + std::to_string(i - 1) + "].id",
                               "duplicate tool id " + existing.id);
    tools.push_back(std::move(tool).value());
  }
  tool_catalogue cat;
  cat.tools_ = std::move(tools);
  cat.reindex();
  return cat;
}

void tool_catalogue::reindex() {
  index_.clear();
  for (std::size_t i = 0; i < tools_.size(); ++i)
    index_.emplace(tools_[i].id, i);
}

error_info tool_catalogue::append(const tool_catalogue& other) {
  for (const auto& t : other.tools_)
    if (index_.contains(t.id))
      return make_error(error_code::config_error, "tool " + t.id + " is defined twice",
                        json::object{{"path", other.origin_dir_}, {"key", "extra_catalogues"},
                                     {"reason", "tool " + t.id + " already exists"}});
  auto absolute = [&](std::string& path) {
    if (path.empty() || other.origin_dir_.empty() || std::filesystem::path(path).is_absolute())
      return;
    for (std::filesystem::path dir = other.origin_dir_; !dir.empty(); dir = dir.parent_path()) {
      if (std::filesystem::exists(dir / path)) {
        path = (dir / path).string();
        return;
      }
      if (dir == dir.root_path())
        return;
    }
  };
  for (auto t : other.tools_) {
    absolute(t.payload_schema);
    absolute(t.response_schema);
    tools_.push_back(std::move(t));
  }
  reindex();
  return {};
}

result<tool_catalogue> tool_catalogue::load_text(std::string_view yaml, std::string_view origin) {
  auto doc = parse_yaml(yaml, origin);
  if (!doc)
    return doc.error();
  return catalogue_from_json(*doc, origin);
}

result<tool_catalogue> tool_catalogue::load_file(const std::string& path) {
  auto doc = read_yaml_file(path);
  if (!doc)
    return doc.error();
  auto cat = catalogue_from_json(*doc, path);
  if (cat)
    cat->origin_dir_ = std::filesystem::absolute(path).parent_path().string();
  return cat;
}

const tool_definition* tool_catalogue::find(std::string_view id) const noexcept {
  auto it = index_.find(id);
  return it == index_.end() ? nullptr : &tools_[it->second];
}

} // namespace opex
