// The `mcp_tool` connector type: `{type: mcp_tool, server (or mcp_server), tool_name}`.
// Configured when mcp.servers is not empty.
#include "opex/connectors/connector_factory.hpp"
#include "opex/connectors/mcp_connector.hpp"

#include <filesystem>

namespace opex::connectors {

namespace {

class mcp_connector_factory final : public connector_factory {
public:
  std::string_view type() const noexcept override { return "mcp_tool"; }

  std::string_view target_schema() const noexcept override {
    return R"({"type": "object", "required": ["type", "tool_name"], "additionalProperties": false,
      "anyOf": [{"required": ["server"]}, {"required": ["mcp_server"]}],
      "properties": {"type": {"const": "mcp_tool"}, "server": {"type": "string"},
        "mcp_server": {"type": "string"}, "tool_name": {"type": "string"}}})";
  }

  /// `mcp_server` (the reference's key) becomes `server`.
  void normalise(tool_target& target) const override {
    if (const auto* alias = target.spec.if_contains("mcp_server")) {
      boost::json::value server = *alias;  // copied before the object may grow
      target.spec.erase("mcp_server");
      if (!target.spec.contains("server"))
        target.spec["server"] = std::move(server);
    }
  }

  bool configured(const opex_config& config) const override { return !config.mcp.servers.empty(); }

  std::shared_ptr<connector> create(connector_environment& env) const override {
    mcp_connector_options options;
    options.settings = env.config->mcp;
    options.http = env.http;
    options.log_dir = env.config->mcp.log_dir.empty()
                        ? (std::filesystem::path(env.database).parent_path() / "logs").string()
                        : env.config->mcp.log_dir;
    return std::make_shared<mcp_connector>(std::move(options));
  }
};

} // namespace

const connector_factory& mcp_factory() {
  static const mcp_connector_factory f;
  return f;
}

} // namespace opex::connectors
