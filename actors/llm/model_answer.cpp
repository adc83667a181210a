// A model's answer read as one bare JSON object (model_answer.hpp).
#include "model_answer.hpp"

#include "opex/json_util.hpp"

namespace opex::actors {

namespace json = boost::json;

result<json::value> parse_bare_json(std::string_view text) {
  auto invalid = [](std::string reason) {
    return make_error(error_code::output_invalid, reason, json::object{{"errors", json::array{json::value(reason)}}});
  };
  auto b = text.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos)
    return invalid("the answer is empty; expected one bare JSON object");
  auto e = text.find_last_not_of(" \t\r\n");
  auto body = text.substr(b, e - b + 1);
  if (body.starts_with("```"))
    return invalid("the answer is wrapped in a Markdown code fence; expected the bare JSON object alone");
  if (body.front() != '{' || body.back() != '}')
    return invalid("the answer is not one bare JSON object (it must start with '{' and end with '}', with no prose)");
  auto parsed = parse_json(body);
  if (!parsed)
    return invalid("the answer is not valid JSON: " + parsed.error().message);
  return std::move(parsed).value();
}

} // namespace opex::actors
