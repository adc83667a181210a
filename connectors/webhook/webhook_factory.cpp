// The `webhook` connector type: `{type: webhook, url, method, headers}`.
#include "opex/connectors/connector_factory.hpp"
#include "opex/connectors/http_client.hpp"
#include "opex/connectors/webhook_connector.hpp"

#include <cctype>

namespace opex::connectors {

namespace {

/// TASK_CREATE -> task-create: the webhook path used for builtin tools in webhook mode.
std::string kebab(std::string_view id) {
  std::string out;
  for (char c : id)
    out.push_back(c == '_' ? '-' : static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  return out;
}

class webhook_connector_factory final : public connector_factory {
public:
  std::string_view type() const noexcept override { return "webhook"; }

  std::string_view target_schema() const noexcept override {
    return R"({"type": "object", "required": ["type", "url"], "additionalProperties": false,
      "properties": {
        "type": {"const": "webhook"},
        "url": {"type": "string", "pattern": "^https?://"},
        "method": {"enum": ["GET", "POST", "PUT", "PATCH", "DELETE"]},
        "headers": {"type": "object", "additionalProperties": {"type": "string"}}}})";
  }

  /// targets.n8n_webhooks: test moves n8n webhooks to /webhook-test/<path>; targets.mode
  /// webhook puts every webhook on webhook_base_url and turns builtin tools (but noop) into
  /// webhooks at <base>/webhook/<kebab-id>.
  void route(tool_definition& tool, const opex_config& config) const override {
    const auto& t = config.targets;
    if (t.n8n_webhooks == "test" && tool.target.type == "webhook") {
      // n8n serves a workflow under test at /webhook-test/<path> instead of /webhook/<path>.
      auto url = tool.target.text("url");
      if (auto at = url.find("/webhook/"); at != std::string::npos)
        tool.target.spec["url"] = url.replace(at, 9, "/webhook-test/");
    }
    if (t.mode != "webhook")
      return;
    if (tool.target.type == "webhook") {
      auto url = parse_url(tool.target.text("url"));
      tool.target.spec["url"] = t.webhook_base_url + (url ? url->target : "/webhook/" + kebab(tool.id));
    } else if (tool.target.type == "builtin" && tool.target.text("name") != "noop") {
      tool.target = tool_target::of("webhook", boost::json::object{{"url", t.webhook_base_url + "/webhook/" + kebab(tool.id)}});
    }
  }

  std::shared_ptr<connector> create(connector_environment& env) const override {
    return std::make_shared<webhook_connector>(env.http, env.secrets);
  }
};

} // namespace

const connector_factory& webhook_factory() {
  static const webhook_connector_factory f;
  return f;
}

} // namespace opex::connectors
