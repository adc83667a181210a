// The `webhook` connector type: `{type: webhook, url, method, headers}`.
#include "opex/connectors/connector_factory.hpp"
#include "opex/connectors/webhook_connector.hpp"

namespace opex::connectors {

namespace {

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
