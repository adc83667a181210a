// valijson-based schema registry over Boost.JSON.
#include "opex/schema_registry.hpp"

#include "opex/json_util.hpp"

#include <valijson/adapters/boost_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validation_results.hpp>
#include <valijson/validator.hpp>

#include <algorithm>
#include <map>
#include <mutex>
#include <span>

namespace opex::embedded {
std::span<const std::pair<std::string_view, std::string_view>> files();
} // namespace opex::embedded

namespace opex {

namespace json = boost::json;

std::string_view embedded_file(std::string_view path) {
  for (const auto& [name, contents] : embedded::files())
    if (name == path)
      return contents;
  return {};
}

std::vector<std::pair<std::string_view, std::string_view>> embedded_files_under(std::string_view prefix) {
  std::vector<std::pair<std::string_view, std::string_view>> out;
  for (const auto& [name, contents] : embedded::files())
    if (name.starts_with(prefix))
      out.emplace_back(name, contents);
  std::sort(out.begin(), out.end());
  return out;
}

namespace {

struct compiled_schema {
  json::value document;   ///< as written: what document() returns
  json::value validated;  ///< what valijson compiles (formats_as_patterns)
  valijson::Schema schema;
};

/// `format: date | time | date-time` as the equivalent `pattern`. valijson compiles a std::regex
/// on every format check (BUILD-NOTES pitfall 9, a tenth of kimmy-intake's CPU), while a pattern's
/// regex is compiled once per validator. The patterns are valijson's own, with its day ranges
/// (February up to 29, 30-day months) written out.
void formats_as_patterns(json::value& v) {
  static constexpr std::string_view date =
    "[0-9]+-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)"
    "|02-(?:0[1-9]|[12][0-9]))";
  static constexpr std::string_view time =
    "(?:[01][0-9]|2[0-3]):[0-5][0-9]:(?:[0-5][0-9]|60)(?:\\.[0-9]+)?(?:[Zz]|[\\+|\\-](?:[01][0-9]|2[0-3]):[0-5][0-9])";
  if (auto* arr = v.if_array()) {
    for (auto& item : *arr)
      formats_as_patterns(item);
    return;
  }
  auto* obj = v.if_object();
  if (!obj)
    return;
  for (auto& kv : *obj)  // data, not schemas, under enum, const, default and examples
    if (kv.key() != "enum" && kv.key() != "const" && kv.key() != "default" && kv.key() != "examples")
      formats_as_patterns(kv.value());
  auto format = get_string(*obj, "format");
  if (!format || (*format != "date" && *format != "time" && *format != "date-time"))
    return;
  std::string pattern = "^";
  if (*format != "time")
    pattern += date;
  if (*format == "date-time")
    pattern += "[Tt]";
  if (*format != "date")
    pattern += time;
  pattern += "$";
  obj->erase("format");
  if (obj->contains("pattern")) {  // both apply
    auto& all = (*obj)["allOf"];
    if (!all.is_array())
      all = json::array{};
    all.as_array().push_back(json::object{{"pattern", pattern}});
  } else
    (*obj)["pattern"] = pattern;
}

std::shared_ptr<const compiled_schema> compile(const json::value& doc, std::string& error) {
  auto out = std::make_shared<compiled_schema>();
  out->document = doc;
  out->validated = doc;
  formats_as_patterns(out->validated);
  try {
    valijson::SchemaParser parser(valijson::SchemaParser::kDraft7);
    valijson::adapters::BoostJsonAdapter adapter(out->validated);
    parser.populateSchema(adapter, out->schema);
  } catch (const std::exception& e) {
    error = e.what();
    return nullptr;
  }
  return out;
}

} // namespace

struct schema_registry::impl {
  std::map<std::string, std::shared_ptr<const compiled_schema>, std::less<>> schemas;
  std::map<std::string, std::string, std::less<>> aliases;  // superseded path -> id
};

schema_registry::schema_registry() : impl_(std::make_unique<impl>()) {}

schema_registry::~schema_registry() = default;

std::shared_ptr<schema_registry> schema_registry::with_embedded() {
  // Compile the embedded schemas once per process; each registry shares them.
  static const std::shared_ptr<const impl> base = [] {
    auto b = std::make_shared<impl>();
    for (const auto& [name, contents] : embedded::files()) {
      if (!name.ends_with(".schema.json"))
        continue;
      auto doc = parse_json(contents);
      if (!doc)
        throw std::runtime_error("embedded schema " + std::string(name) + " is not JSON");
      std::string error;
      auto compiled = compile(*doc, error);
      if (!compiled)
        throw std::runtime_error("embedded schema " + std::string(name) + ": " + error);
      if (const auto* obj = doc->if_object())
        if (auto sup = get_string(*obj, "x-opex-supersedes"))
          b->aliases[std::string(*sup)] = std::string(name);
      b->schemas.emplace(std::string(name), std::move(compiled));
    }
    return b;
  }();
  auto reg = std::make_shared<schema_registry>();
  reg->impl_->schemas = base->schemas;
  reg->impl_->aliases = base->aliases;
  return reg;
}

result<bool> schema_registry::add(std::string id, const json::value& schema) {
  std::string error;
  auto compiled = compile(schema, error);
  if (!compiled)
    return make_error(error_code::validation_error, "schema " + id + " cannot be compiled",
                      json::object{{"schema", id}, {"reason", error}});
  impl_->schemas[std::move(id)] = std::move(compiled);
  return true;
}

result<bool> schema_registry::add_file(std::string id, const std::string& file_path) {
  auto doc = read_json_file(file_path);
  if (!doc)
    return doc.error();
  return add(std::move(id), *doc);
}

std::string schema_registry::resolve(std::string_view id) const {
  if (auto it = impl_->aliases.find(id); it != impl_->aliases.end())
    return it->second;
  return std::string(id);
}

bool schema_registry::contains(std::string_view id) const {
  return impl_->schemas.find(resolve(id)) != impl_->schemas.end();
}

const json::value* schema_registry::document(std::string_view id) const {
  auto it = impl_->schemas.find(resolve(id));
  return it == impl_->schemas.end() ? nullptr : &it->second->document;
}

std::vector<std::string> schema_registry::validate(std::string_view id,
                                                   const json::value& value) const {
  auto it = impl_->schemas.find(resolve(id));
  if (it == impl_->schemas.end())
    return {"unknown schema " + std::string(id)};
  // One validator per thread, reused: it keeps the regular expressions of `pattern` compiled
  // (a validator per call compiled them again every time: BUILD-NOTES pitfall 9).
  thread_local valijson::Validator validator;
  valijson::ValidationResults results;
  valijson::adapters::BoostJsonAdapter target(value);
  try {
    if (validator.validate(it->second->schema, target, &results))
      return {};
  } catch (const std::exception& e) {
    return {std::string("schema evaluation failed: ") + e.what()};
  }
  std::vector<std::string> out;
  valijson::ValidationResults::Error error;
  while (results.popError(error)) {
    std::string where;
    for (const auto& c : error.context)
      where += c;
    out.push_back(where + ": " + error.description);
  }
  return out;
}

error_info schema_registry::check(std::string_view id, const json::value& value,
                                  std::string_view what) const {
  auto errors = validate(id, value);
  if (errors.empty())
    return {};
  json::array list;
  for (auto& e : errors)
    list.emplace_back(std::move(e));
  return make_error(error_code::validation_error, std::string(what) + " does not match its schema",
                    json::object{{"schema", resolve(id)}, {"errors", std::move(list)}});
}

} // namespace opex
