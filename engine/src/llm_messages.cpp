// opex/llm_messages.hpp.
#include "opex/llm_messages.hpp"

namespace opex {

namespace json = boost::json;

json::object llm_response::to_json() const {
  return json::object{{"text", text},
                      {"model", model},
                      {"stop_reason", stop_reason},
                      {"id", id},
                      {"endpoint", endpoint},
                      {"provider", provider},
                      {"usage", json::object{{"input_tokens", usage.input_tokens},
                                             {"output_tokens", usage.output_tokens},
                                             {"cost_usd", usage.cost_usd}}}};
}

} // namespace opex
