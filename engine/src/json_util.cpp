// Boost.JSON helpers and YAML (yaml-cpp) to JSON conversion.
#include "opex/json_util.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/stream_parser.hpp>
#include <boost/json/serialize.hpp>
#include <yaml-cpp/yaml.h>

#include <charconv>
#include <cmath>
#include <fstream>
#include <sstream>

namespace opex {

namespace json = boost::json;

std::optional<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return std::nullopt;
  std::ostringstream ss;
  ss << in.rdbuf();
  return std::move(ss).str();
}

result<json::value> read_json_file(const std::string& path) {
  auto text = read_file(path);
  if (!text)
    return make_error(error_code::config_error, "cannot read " + path,
                      json::object{{"path", path}, {"reason", "unreadable"}});
  auto parsed = parse_json(*text);
  if (!parsed) {
    auto err = parsed.error();
    err.details["path"] = path;
    err.message = path + " is not valid JSON";
    return err;
  }
  return std::move(parsed).value();
}

std::optional<std::string_view> get_string(const json::object& obj, std::string_view key) {
  auto it = obj.find(key);
  if (it == obj.end() || !it->value().is_string())
    return std::nullopt;
  return std::string_view(it->value().get_string());
}

const json::value* get_member(const json::object& obj, std::string_view key) {
  auto it = obj.find(key);
  return it == obj.end() ? nullptr : &it->value();
}

std::optional<double> get_number(const json::object& obj, std::string_view key) {
  const auto* v = get_member(obj, key);
  if (!v || !v->is_number())
    return std::nullopt;
  return v->to_number<double>();
}

const json::value* find_path(const json::value& root, std::string_view dotted_path) {
  const json::value* cur = &root;
  while (!dotted_path.empty()) {
    auto dot = dotted_path.find('.');
    auto seg = dotted_path.substr(0, dot);
    dotted_path = dot == std::string_view::npos ? std::string_view{} : dotted_path.substr(dot + 1);
    if (const auto* obj = cur->if_object()) {
      auto it = obj->find(seg);
      if (it == obj->end())
        return nullptr;
      cur = &it->value();
    } else if (const auto* arr = cur->if_array()) {
      std::size_t idx = 0;
      auto res = std::from_chars(seg.data(), seg.data() + seg.size(), idx);
      if (res.ec != std::errc{} || res.ptr != seg.data() + seg.size() || idx >= arr->size())
        return nullptr;
      cur = &(*arr)[idx];
    } else {
      return nullptr;
    }
  }
  return cur;
}

namespace {

json::value scalar_to_json(const YAML::Node& node) {
  const std::string& s = node.Scalar();
  if (node.Tag() == "!")  // quoted scalar: always a string
    return json::value(s);
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL")
    return nullptr;
  if (s == "true" || s == "True" || s == "TRUE")
    return true;
  if (s == "false" || s == "False" || s == "FALSE")
    return false;
  {
    std::int64_t i = 0;
    const char* b = s.data();
    const char* e = s.data() + s.size();
    if (*b == '+')
      ++b;
    auto res = std::from_chars(b, e, i);
    if (res.ec == std::errc{} && res.ptr == e)
      return i;
  }
  {
    double d = 0;
    const char* b = s.data();
    const char* e = s.data() + s.size();
    if (*b == '+')
      ++b;
    auto res = std::from_chars(b, e, d);
    if (res.ec == std::errc{} && res.ptr == e && std::isfinite(d))
      return d;
  }
  return json::value(s);
}

} // namespace

json::value yaml_to_json(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return nullptr;
    case YAML::NodeType::Scalar:
      return scalar_to_json(node);
    case YAML::NodeType::Sequence: {
      json::array arr;
      arr.reserve(node.size());
      for (const auto& item : node)
        arr.push_back(yaml_to_json(item));
      return arr;
    }
    case YAML::NodeType::Map: {
      json::object obj;
      for (const auto& kv : node)
        obj[kv.first.as<std::string>()] = yaml_to_json(kv.second);
      return obj;
    }
  }
  return nullptr;
}

result<json::value> parse_yaml(std::string_view text, std::string_view origin) {
  try {
    YAML::Node node = YAML::Load(std::string(text));
    return yaml_to_json(node);
  } catch (const YAML::Exception& e) {
    return make_error(error_code::config_error, std::string(origin) + ": invalid YAML: " + e.what(),
                      json::object{{"path", origin},
                                   {"reason", e.msg},
                                   {"line", e.mark.line + 1},
                                   {"column", e.mark.column + 1}});
  }
}

result<json::value> read_yaml_file(const std::string& path) {
  auto text = read_file(path);
  if (!text)
    return make_error(error_code::config_error, "cannot read " + path,
                      json::object{{"path", path}, {"reason", "unreadable"}});
  return parse_yaml(*text, path);
}

} // namespace opex
