// The `n8n_api` connector type: `{type: n8n_api, operation}` (absent = the tool's own
// operation). Configured when n8n.instances is not empty.
#include "opex/connectors/connector_factory.hpp"
#include "opex/connectors/n8n_connector.hpp"

#include <filesystem>

namespace opex::connectors {

namespace {

class n8n_connector_factory final : public connector_factory {
public:
  std::string_view type() const noexcept override { return "n8n_api"; }

  std::string_view target_schema() const noexcept override {
    return R"({"type": "object", "required": ["type"], "additionalProperties": false,
      "properties": {"type": {"const": "n8n_api"}, "operation": {"type": "string"}}})";
  }

  bool configured(const opex_config& config) const override { return !config.n8n.instances.empty(); }

  /// n8n.route_tools with instances configured: the N8N_* tools run on n8n's REST API.
  void route(tool_definition& tool, const opex_config& config) const override {
    if (auto op = n8n_operation_for(tool.id); !op.empty() && !config.n8n.instances.empty() && config.n8n.route_tools)
      tool.target = tool_target::of("n8n_api", boost::json::object{{"operation", op}});
  }

  std::shared_ptr<connector> create(connector_environment& env) const override {
    n8n_connector_options options;
    options.settings = env.config->n8n;
    if (options.settings.session_dir.empty())
      options.settings.session_dir = (std::filesystem::path(env.database).parent_path() / "n8n-sessions").string();
    options.http = env.http;
    options.llm = env.llm;
    options.design_llm = env.config->n8n.design_llm;
    return std::make_shared<n8n_connector>(std::move(options));
  }
};

} // namespace

const connector_factory& n8n_factory() {
  static const n8n_connector_factory f;
  return f;
}

} // namespace opex::connectors
