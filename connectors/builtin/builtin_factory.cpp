// The `builtin` connector type: `{type: builtin, name}`, tools implemented inside opex.
#include "opex/connectors/builtin_connector.hpp"
#include "opex/connectors/connector_factory.hpp"

namespace opex::connectors {

namespace {

class builtin_connector_factory final : public connector_factory {
public:
  std::string_view type() const noexcept override { return "builtin"; }

  std::string_view target_schema() const noexcept override {
    return R"({"type": "object", "required": ["type", "name"], "additionalProperties": false,
      "properties": {"type": {"const": "builtin"}, "name": {"type": "string", "minLength": 1}}})";
  }

  /// targets.mode builtin: every tool a builtin serves runs on it.
  void route(tool_definition& tool, const opex_config& config) const override {
    if (config.targets.mode != "builtin")
      return;
    auto name = builtin_connector::builtin_for_tool(tool.id);
    if (!name.empty() && tool.target.type != "builtin")
      tool.target = tool_target::of("builtin", boost::json::object{{"name", name}});
  }

  std::shared_ptr<connector> create(connector_environment& env) const override {
    builtin_options options;
    options.database = env.database;
    options.checkpoint_pages = env.config->storage.background_checkpoint_pages();
    options.backend = env.config->storage.backend;
    options.time = env.time;
    options.journal_sink = env.journal;
    return std::make_shared<builtin_connector>(std::move(options));
  }
};

} // namespace

const connector_factory& builtin_factory() {
  static const builtin_connector_factory f;
  return f;
}

} // namespace opex::connectors
