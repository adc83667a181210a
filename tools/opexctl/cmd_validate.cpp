// opexctl validate: a contract (JSON: KimmyPayload, ProlexOutput, journal entry, error) against
// its schema, or a configuration (YAML) with the checks the engine makes at start.
#include "opexctl.hpp"

#include "opex/json_util.hpp"
#include "opex/schema_registry.hpp"

#include <boost/json/serialize.hpp>

#include <iostream>
#include <memory>

namespace opexctl {

namespace json = boost::json;
using namespace opex;

namespace {

/// A configuration (YAML): opex.yml, or one of the reference files it names.
int validate_yaml(const std::string& file, std::string kind, const common_options& o) {
  auto doc = read_yaml_file(file);
  if (!doc)
    return print_error(doc.error(), o, exit_failed);
  if (kind == "auto")
    kind = doc->is_array() ? "catalogue" : "config";
  error_info err;
  if (kind == "catalogue") {
    auto c = tool_catalogue::load_file(file);
    if (!c) {
      err = c.error();
    } else {  // its targets against their connector types, as the engine checks them
      auto cfg = load_config("");
      if (cfg) {
        cfg->catalogue = std::move(c).value();
        err = check_configuration(*cfg);
      }
    }
  } else if (kind == "system") {
    auto c = system_config::load_file(file);
    if (!c)
      err = c.error();
  } else if (kind == "autonomy") {
    auto c = autonomy_config::load_file(file);
    if (!c)
      err = c.error();
  } else {
    auto c = load_config(file);
    err = c ? check_configuration(*c) : c.error();
  }
  if (err)
    return print_error(err, o, exit_failed);
  if (o.json_output)
    std::cout << json::serialize(json::object{{"valid", true}, {"kind", kind}, {"file", file}}) << std::endl;
  else
    std::cout << file << ": valid " << kind << "\n";
  return 0;
}

/// A contract (JSON) against its embedded schema.
int validate_json(const std::string& file, std::string kind, const common_options& o) {
  auto doc = read_json_file(file);
  if (!doc)
    return print_error(doc.error(), o, exit_failed);
  if (kind == "auto") {
    const auto* obj = doc->if_object();
    if (obj && obj->contains("raw_input"))
      kind = "kimmy_payload";
    else if (obj && obj->contains("agent") && obj->contains("action_type"))
      kind = "journal_entry";
    else if (obj && obj->contains("error_code"))
      kind = "error";
    else
      kind = "prolex_output";
  }
  auto registry = schema_registry::with_embedded();
  std::string id = "schemas/" + kind + ".schema.json";
  if (!registry->contains(id))
    return print_error(make_error(error_code::validation_error, "unknown kind " + kind), o);
  if (auto err = registry->check(id, *doc, kind)) {
    if (o.json_output)
      std::cout << json::serialize(to_error_json(err, "", format_timestamp(std::chrono::system_clock::now())))
                << std::endl;
    else {
      std::cerr << file << ": invalid " << kind << "\n";
      for (const auto& e : err.details.at("errors").as_array())
        std::cerr << "  " << e.as_string().c_str() << "\n";
    }
    return exit_failed;
  }
  if (o.json_output)
    std::cout << json::serialize(json::object{{"valid", true}, {"kind", kind}, {"file", file}}) << std::endl;
  else
    std::cout << file << ": valid " << kind << "\n";
  return 0;
}

} // namespace

void add_validate_command(CLI::App& app, command_list& out) {
  struct args {
    std::string file, kind = "auto";
  };
  auto a = std::make_shared<args>();
  auto* validate = app.add_subcommand("validate", "Validate a contract (JSON) or a configuration (YAML)");
  validate->add_option("file", a->file, "File to validate")->required()->check(CLI::ExistingFile);
  validate->add_option("--kind", a->kind,
                       "auto|kimmy_payload|prolex_output|journal_entry|error|config|catalogue|system|autonomy");
  out.push_back({validate, [a](const common_options& o) {
                   bool yaml = a->file.ends_with(".yml") || a->file.ends_with(".yaml");
                   return yaml ? validate_yaml(a->file, a->kind, o) : validate_json(a->file, a->kind, o);
                 }});
}

} // namespace opexctl
