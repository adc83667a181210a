// The `llm` connector type: `{type: llm, name}` (name: an endpoint under llm.endpoints; absent =
// llm.default). Configured when llm.endpoints is not empty; it also provides the model service
// Kimmy, Prolex and the n8n designer use.
#include "opex/connectors/connector_factory.hpp"
#include "opex/connectors/llm_client.hpp"

namespace opex::connectors {

namespace {

class llm_connector_factory final : public connector_factory {
public:
  std::string_view type() const noexcept override { return "llm"; }

  std::string_view target_schema() const noexcept override {
    return R"({"type": "object", "required": ["type"], "additionalProperties": false,
      "properties": {"type": {"const": "llm"}, "name": {"type": "string"}}})";
  }

  bool configured(const opex_config& config) const override { return !config.llm.endpoints.empty(); }

  std::shared_ptr<connector> create(connector_environment& env) const override {
    auto client = std::make_shared<llm_client>(env.config->llm, env.http);
    env.llm = client;
    return std::make_shared<llm_connector>(client);
  }
};

} // namespace

const connector_factory& llm_factory() {
  static const llm_connector_factory f;
  return f;
}

} // namespace opex::connectors
