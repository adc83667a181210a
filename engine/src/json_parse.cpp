// Strict JSON parsing (RFC 8259 with I-JSON's restrictions, RFC 7493): one pass over Boost.JSON's
// basic_parser that builds the value and refuses what parsers disagree on: duplicate member
// names, numbers that do not fit a double (1e999 would become Infinity, which JSON cannot
// write back), invalid or overlong UTF-8 (Boost.JSON's own check). docs/decisions.md,
// "Edge validation".
#include "opex/json_util.hpp"

#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/value_stack.hpp>

#include <cmath>
#include <string>
#include <unordered_set>
#include <vector>

namespace opex {

namespace json = boost::json;

namespace {

/// Builds the value like boost::json::parser, and records why it stopped when it refuses.
class strict_handler {
public:
  static constexpr std::size_t max_object_size = std::size_t(-1);
  static constexpr std::size_t max_array_size = std::size_t(-1);
  static constexpr std::size_t max_key_size = std::size_t(-1);
  static constexpr std::size_t max_string_size = std::size_t(-1);

  json::value_stack st;
  std::string refusal;  ///< why the document was refused ("" = a syntax error of Boost.JSON's)

  bool on_document_begin(json::error_code&) {
    st.reset();
    return true;
  }
  bool on_document_end(json::error_code&) { return true; }
  bool on_object_begin(json::error_code&) {
    keys_.emplace_back();
    return true;
  }
  bool on_object_end(std::size_t n, json::error_code&) {
    keys_.pop_back();
    st.push_object(n);
    return true;
  }
  bool on_array_begin(json::error_code&) { return true; }
  bool on_array_end(std::size_t n, json::error_code&) {
    st.push_array(n);
    return true;
  }
  bool on_key_part(json::string_view s, std::size_t, json::error_code&) {
    key_.append(s.data(), s.size());
    st.push_chars(s);
    return true;
  }
  bool on_key(json::string_view s, std::size_t, json::error_code& ec) {
    key_.append(s.data(), s.size());
    if (!keys_.back().insert(key_).second)
      return refuse(ec, "duplicate key \"" + key_ + "\"");
    key_.clear();
    st.push_key(s);
    return true;
  }
  bool on_string_part(json::string_view s, std::size_t, json::error_code&) {
    st.push_chars(s);
    return true;
  }
  bool on_string(json::string_view s, std::size_t, json::error_code&) {
    st.push_string(s);
    return true;
  }
  bool on_number_part(json::string_view, json::error_code&) { return true; }
  bool on_int64(std::int64_t i, json::string_view, json::error_code&) {
    st.push_int64(i);
    return true;
  }
  bool on_uint64(std::uint64_t u, json::string_view, json::error_code&) {
    st.push_uint64(u);
    return true;
  }
  bool on_double(double d, json::string_view text, json::error_code& ec) {
    if (!std::isfinite(d))
      return refuse(ec, "number out of range: " + std::string(text.data(), text.size()));
    st.push_double(d);
    return true;
  }
  bool on_bool(bool b, json::error_code&) {
    st.push_bool(b);
    return true;
  }
  bool on_null(json::error_code&) {
    st.push_null();
    return true;
  }
  bool on_comment_part(json::string_view, json::error_code&) { return true; }
  bool on_comment(json::string_view, json::error_code&) { return true; }

private:
  bool refuse(json::error_code& ec, std::string why) {
    refusal = std::move(why);
    ec = json::make_error_code(json::error::syntax);
    return false;
  }

  std::vector<std::unordered_set<std::string>> keys_;
  std::string key_;
};

} // namespace

result<json::value> parse_json(std::string_view text) {
  json::parse_options opts;
  opts.max_depth = 64;
  json::basic_parser<strict_handler> parser(opts);
  json::error_code ec;
  std::size_t consumed = parser.write_some(false, text.data(), text.size(), ec);
  if (!ec && consumed < text.size())
    ec = json::make_error_code(json::error::extra_data);
  if (ec) {
    auto reason = parser.handler().refusal.empty() ? ec.message() : parser.handler().refusal;
    // Boost.JSON stops on the first byte of a bad UTF-8 sequence and calls it a syntax error.
    if (parser.handler().refusal.empty() && consumed < text.size() && static_cast<unsigned char>(text[consumed]) >= 0x80)
      reason = "invalid UTF-8 (a malformed, overlong or surrogate sequence) at byte " + std::to_string(consumed);
    return make_error(error_code::invalid_json, "request body is not valid JSON",
                      json::object{{"position", consumed}, {"reason", std::move(reason)}});
  }
  return parser.handler().st.release();
}

} // namespace opex
