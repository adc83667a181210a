// The one rule of where a call lands (call_environment.hpp).
#include "opex/call_environment.hpp"

#include "opex/json_util.hpp"

namespace opex {

std::string call_environment(const boost::json::object& payload, std::string_view fallback, bool promotion) {
  if (promotion)
    return std::string(get_string(payload, "to").value_or("production"));
  if (auto t = get_string(payload, "target"))
    return std::string(*t);
  if (auto e = get_string(payload, "environment"))
    return std::string(*e);
  return std::string(fallback);
}

} // namespace opex
