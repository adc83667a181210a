// The registry of connector types: one line per connector folder. Adding a connector type is a
// folder with its factory (connectors/<name>/<name>_factory.cpp) and one line here.
#include "opex/connectors/connector_factory.hpp"

#include "opex/schema_registry.hpp"

#include <boost/json/parse.hpp>

#include <array>
#include <stdexcept>

namespace opex::connectors {

const connector_factory& webhook_factory();
const connector_factory& builtin_factory();
const connector_factory& llm_factory();
const connector_factory& n8n_factory();
const connector_factory& mcp_factory();

namespace json = boost::json;

std::span<const connector_factory* const> connector_factories() noexcept {
  // llm before n8n: n8n designs workflows with the model service the llm factory sets.
  static const std::array<const connector_factory*, 5> all{
    &webhook_factory(), &builtin_factory(), &llm_factory(), &n8n_factory(), &mcp_factory()};
  return all;
}

const connector_factory* find_connector_factory(std::string_view type) noexcept {
  for (const auto* f : connector_factories())
    if (f->type() == type)
      return f;
  return nullptr;
}

void add_target_schemas(schema_registry& schemas) {
  for (const auto* f : connector_factories()) {
    auto added = schemas.add("target/" + std::string(f->type()), json::parse(f->target_schema()));
    if (!added)
      throw std::logic_error("target schema of " + std::string(f->type()) + ": " + added.error().message);
  }
}

void route_targets(opex_config& config) {
  for (auto& tool : config.catalogue.mutable_tools()) {
    if (auto o = config.targets.overrides.find(tool.id); o != config.targets.overrides.end()) {
      tool.target = o->second;
      continue;
    }
    for (const auto* f : connector_factories())
      f->route(tool, config);
  }
}

namespace {

std::string known_types() {
  std::string out;
  for (const auto* f : connector_factories())
    out += (out.empty() ? "" : ", ") + std::string(f->type());
  return out;
}

error_info check_target(tool_target& target, const std::string& where, const schema_registry& schemas) {
  if (target.type.empty())
    return {};
  const auto* factory = find_connector_factory(target.type);
  if (!factory)
    return make_error(error_code::config_error,
                      where + ": unknown target type '" + target.type + "' (known: " + known_types() + ")",
                      json::object{{"key", where}, {"type", target.type}});
  json::object mapping = target.spec;
  mapping["type"] = target.type;
  auto errors = schemas.validate("target/" + target.type, mapping);
  if (!errors.empty()) {
    json::array list;
    for (auto& e : errors)
      list.emplace_back(e);
    return make_error(error_code::config_error, where + ": " + errors.front(),
                      json::object{{"key", where}, {"type", target.type}, {"errors", std::move(list)}});
  }
  factory->normalise(target);
  return {};
}

} // namespace

error_info check_targets(opex_config& config, const schema_registry& schemas) {
  for (auto& tool : config.catalogue.mutable_tools())
    if (auto e = check_target(tool.target, "tool " + tool.id + " target", schemas)) {
      e.details["tool"] = tool.id;
      return e;
    }
  for (auto& [id, target] : config.targets.overrides)
    if (auto e = check_target(target, "targets.overrides." + id, schemas)) {
      e.details["tool"] = id;
      return e;
    }
  return {};
}

} // namespace opex::connectors
