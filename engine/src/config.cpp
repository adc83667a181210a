// Loading of system.yml, autonomy.yml (reference formats) and opex.yml.
#include "opex/config.hpp"

#include "opex/contracts.hpp"
#include "opex/json_util.hpp"
#include "opex/schema_registry.hpp"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <tuple>

namespace opex {

namespace json = boost::json;
namespace fs = std::filesystem;

namespace {

error_info config_error(std::string_view origin, std::string_view key, std::string reason) {
  return make_error(error_code::config_error,
                    std::string(origin) + ": " + std::string(key) + ": " + reason,
                    json::object{{"path", origin}, {"key", key}, {"reason", reason}});
}

const json::object* object_at(const json::object& obj, std::string_view key) {
  const auto* v = get_member(obj, key);
  return v && v->is_object() ? &v->get_object() : nullptr;
}

std::vector<std::string> strings_at(const json::object& obj, std::string_view key) {
  std::vector<std::string> out;
  if (const auto* v = get_member(obj, key); v && v->is_array())
    for (const auto& item : v->get_array()) {
      if (item.is_string())
        out.emplace_back(item.get_string());
      else if (item.is_int64())
        out.push_back(std::to_string(item.get_int64()));
    }
  return out;
}

std::optional<double> number_at(const json::object& obj, std::string_view key) {
  if (const auto* v = get_member(obj, key); v && v->is_number())
    return v->to_number<double>();
  return std::nullopt;
}

std::optional<int> int_at(const json::object& obj, std::string_view key) {
  if (const auto* v = get_member(obj, key); v && v->is_int64())
    return static_cast<int>(v->get_int64());
  return std::nullopt;
}

/// True for header names that carry credentials (they must be env:/file: references).
bool secret_looking(std::string_view name) {
  std::string lower;
  for (char c : name)
    lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  for (std::string_view word : {"auth", "token", "key", "secret", "password", "cookie"})
    if (lower.find(word) != std::string::npos)
      return true;
  return false;
}

bool is_reference(std::string_view v) { return v.starts_with("env:") || v.starts_with("file:"); }

/// A `file:` reference with a relative path resolves from the configuration's folder.
std::string anchor_reference(const std::string& base_dir, const std::string& value);

std::map<std::string, std::string> string_map_at(const json::object& obj, std::string_view key) {
  std::map<std::string, std::string> out;
  if (const auto* o = object_at(obj, key))
    for (const auto& kv : *o)
      if (kv.value().is_string())
        out[std::string(kv.key())] = std::string(kv.value().get_string());
  return out;
}

result<mcp_server_settings> mcp_server_from_json(std::string name, const json::object& o,
                                                 const std::string& base_dir, std::string_view origin);

result<system_config> system_from_json(const json::value& doc, std::string_view origin) {
  if (!doc.is_object())
    return config_error(origin, "(root)", "system.yml must be a mapping");
  const auto& root = doc.get_object();
  system_config c;
  if (auto env = get_string(root, "current_environment"))
    c.current_environment = std::string(*env);
  if (const auto* kimmy = object_at(root, "kimmy")) {
    if (auto mode = get_string(*kimmy, "mode")) {
      if (*mode != "safe" && *mode != "quick_actions")
        return config_error(origin, "kimmy.mode", "must be safe or quick_actions");
      c.kimmy_mode = std::string(*mode);
    }
    if (const auto* th = object_at(*kimmy, "thresholds"))
      if (auto v = number_at(*th, "min_confidence_for_direct_action"))
        c.min_confidence_for_direct_action = *v;
    c.allowed_quick_actions = strings_at(*kimmy, "allowed_quick_actions");
  }
  c.sensitive_intents = strings_at(root, "sensitive_intents");
  c.high_risk_tools = strings_at(root, "high_risk_tools");
  if (const auto* limits = object_at(root, "limits")) {
    c.max_cost_per_request_usd = number_at(*limits, "max_cost_per_request_usd").value_or(c.max_cost_per_request_usd);
    c.max_cost_per_day_usd = number_at(*limits, "max_cost_per_day_usd").value_or(c.max_cost_per_day_usd);
    c.max_cost_per_month_usd = number_at(*limits, "max_cost_per_month_usd").value_or(c.max_cost_per_month_usd);
    c.max_execution_time_minutes = int_at(*limits, "max_execution_time_minutes").value_or(c.max_execution_time_minutes);
    c.max_plan_steps = int_at(*limits, "max_plan_steps").value_or(c.max_plan_steps);
    c.max_requests_per_minute = int_at(*limits, "max_requests_per_minute").value_or(c.max_requests_per_minute);
    c.max_requests_per_hour = int_at(*limits, "max_requests_per_hour").value_or(c.max_requests_per_hour);
  }
  if (const auto* kw = object_at(root, "sensitive_keywords"))
    for (const auto& kv : *kw)
      c.sensitive_keywords[std::string(kv.key())] = strings_at(*kw, kv.key());
  if (const auto* tags = object_at(root, "workflow_tags")) {
    if (auto t = get_string(*tags, "auto_generated"))
      c.auto_generated_tag = std::string(*t);
    c.workflow_environments = strings_at(*tags, "environments");
    c.workflow_categories = strings_at(*tags, "categories");
  }
  if (const auto* sec = object_at(root, "security"))
    if (const auto* v = get_member(*sec, "log_sensitive_data"); v && v->is_bool())
      c.log_sensitive_data = v->get_bool();
  return c;
}

result<autonomy_config> autonomy_from_json(const json::value& doc, std::string_view origin) {
  if (!doc.is_object())
    return config_error(origin, "(root)", "autonomy.yml must be a mapping");
  const auto& root = doc.get_object();
  autonomy_config c;
  if (auto lvl = int_at(root, "prolex_current_autonomy_level"))
    c.current_level = *lvl;
  const auto* levels = object_at(root, "autonomy_levels");
  if (!levels)
    return config_error(origin, "autonomy_levels", "missing");
  for (const auto& kv : *levels) {
    autonomy_level_def def;
    try {
      std::size_t used = 0;
      def.level = std::stoi(std::string(kv.key()), &used);
      if (used != kv.key().size() || def.level < 0 || def.level > 9)
        throw std::invalid_argument("level");
    } catch (const std::exception&) {
      return config_error(origin, "autonomy_levels." + std::string(kv.key()),
                          "levels are integers 0-9");
    }
    if (!kv.value().is_object())
      return config_error(origin, "autonomy_levels." + std::string(kv.key()), "must be a mapping");
    const auto& lo = kv.value().get_object();
    def.name = std::string(get_string(lo, "name").value_or(""));
    def.allowed_actions = strings_at(lo, "allowed_actions");
    def.forbidden_actions = strings_at(lo, "forbidden_actions");
    if (const auto* cons = object_at(lo, "constraints")) {
      def.max_cost_per_request_usd = number_at(*cons, "max_cost_per_request_usd");
      def.max_tools_per_plan = int_at(*cons, "max_tools_per_plan");
      if (const auto* v = get_member(*cons, "sandbox_only_for_n8n"); v && v->is_bool())
        def.sandbox_only_for_n8n = v->get_bool();
    }
    c.levels[def.level] = std::move(def);
  }
  // Expand all_level_N inheritance into tool ids (upper-case actions are tool ids).
  std::function<void(int, std::set<std::string>&, std::set<int>&)> collect =
    [&](int level, std::set<std::string>& out, std::set<int>& seen) {
      if (!seen.insert(level).second)
        return;
      auto it = c.levels.find(level);
      if (it == c.levels.end())
        return;
      for (const auto& a : it->second.allowed_actions) {
        if (a.starts_with("all_level_")) {
          try {
            collect(std::stoi(a.substr(10)), out, seen);
          } catch (const std::exception&) {
          }
        } else if (!a.empty() && std::all_of(a.begin(), a.end(), [](char ch) {
                     return (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_';
                   })) {
          out.insert(a);
        }
      }
    };
  for (auto& [level, def] : c.levels) {
    std::set<std::string> tools;
    std::set<int> seen;
    collect(level, tools, seen);
    def.allowed_tools.assign(tools.begin(), tools.end());
  }
  if (const auto* g = object_at(root, "global_safeguards")) {
    c.always_require_confirmation = strings_at(*g, "always_require_confirmation");
    if (const auto* dl = object_at(*g, "daily_limits"))
      for (const auto& kv : *dl)
        if (kv.value().is_int64())
          c.daily_limits[std::string(kv.key())] = static_cast<int>(kv.value().get_int64());
    if (const auto* er = object_at(*g, "environment_restrictions"))
      for (const auto& kind : *er)
        if (kind.value().is_object())
          for (const auto& lvl : kind.value().get_object())
            c.environment_restrictions[std::string(kind.key())][std::string(lvl.key())] =
              strings_at(kind.value().get_object(), lvl.key());
  }
  if (const auto* envs = object_at(root, "environments"))
    for (const auto& kv : *envs)
      if (kv.value().is_object())
        if (auto l = int_at(kv.value().get_object(), "default_autonomy_level"))
          c.environment_default_levels[std::string(kv.key())] = *l;
  if (!c.levels.contains(c.current_level))
    return config_error(origin, "prolex_current_autonomy_level",
                        "level " + std::to_string(c.current_level) + " is not defined");
  return c;
}

std::string resolve_path(const std::string& base_dir, std::string_view p) {
  fs::path path{std::string(p)};
  if (path.is_relative() && !base_dir.empty())
    path = fs::path(base_dir) / path;
  return path.lexically_normal().string();
}

} // namespace

namespace {

result<mcp_server_settings> mcp_server_from_json(std::string name, const json::object& o,
                                                 const std::string& base_dir, std::string_view origin) {
  mcp_server_settings s;
  s.name = std::move(name);
  const std::string where = "mcp.servers." + s.name;
  s.transport = std::string(get_string(o, "transport").value_or("stdio"));
  if (auto c = get_string(o, "command")) {
    s.command = std::string(*c);
    if (s.command.find('/') != std::string::npos)
      s.command = resolve_path(base_dir, s.command);
  }
  s.args = strings_at(o, "args");
  s.env = string_map_at(o, "env");
  if (auto c = get_string(o, "cwd"))
    s.cwd = resolve_path(base_dir, *c);
  s.url = std::string(get_string(o, "url").value_or(""));
  s.headers = string_map_at(o, "headers");
  s.startup_timeout_ms = int_at(o, "startup_timeout_ms").value_or(s.startup_timeout_ms);
  if (const auto* r = object_at(o, "restart")) {
    s.restart.initial_interval_ms = number_at(*r, "initial_interval_ms").value_or(s.restart.initial_interval_ms);
    s.restart.backoff_coefficient = number_at(*r, "backoff_coefficient").value_or(s.restart.backoff_coefficient);
    s.restart.maximum_interval_ms = number_at(*r, "maximum_interval_ms").value_or(s.restart.maximum_interval_ms);
    s.restart.maximum_restarts = int_at(*r, "maximum_restarts").value_or(s.restart.maximum_restarts);
  }
  if (s.transport == "stdio" && s.command.empty())
    return config_error(origin, where + ".command", "required for the stdio transport");
  if (s.transport == "streamable_http" && s.url.empty())
    return config_error(origin, where + ".url", "required for the streamable_http transport");
  for (auto& [var, value] : s.env)
    value = anchor_reference(base_dir, value);
  for (auto& [header, value] : s.headers)
    value = anchor_reference(base_dir, value);
  for (const auto& [header, value] : s.headers)
    if (secret_looking(header) && !is_reference(value))
      return config_error(origin, where + ".headers." + header,
                          "credentials are references (env:NAME or file:PATH), never literals");
  for (const auto& [var, value] : s.env)
    if (secret_looking(var) && !is_reference(value))
      return config_error(origin, where + ".env." + var,
                          "credentials are references (env:NAME or file:PATH), never literals");
  return s;
}

std::string anchor_reference(const std::string& base_dir, const std::string& value) {
  if (!value.starts_with("file:") || value.size() == 5 || value[5] == '/')
    return value;
  return "file:" + resolve_path(base_dir, value.substr(5));
}

} // namespace

result<std::string> resolve_reference(std::string_view value) {
  auto missing = [&] {
    return make_error(error_code::secret_not_found, "cannot resolve " + std::string(value),
                      json::object{{"reference", value}});
  };
  if (value.starts_with("env:")) {
    std::string name(value.substr(4));
    const char* v = std::getenv(name.c_str());
    if (v == nullptr)
      return missing();
    return std::string(v);
  }
  if (value.starts_with("file:")) {
    std::ifstream in{std::string(value.substr(5))};
    std::string line;
    if (!in || !std::getline(in, line))
      return missing();
    while (!line.empty() && (line.back() == '\r' || line.back() == ' '))
      line.pop_back();
    return line;
  }
  return std::string(value);
}

retry_settings retry_settings_from_json(const json::object& obj, retry_settings base) {
  if (auto v = number_at(obj, "initial_interval_ms"))
    base.initial_interval_ms = *v;
  if (auto v = number_at(obj, "backoff_coefficient"))
    base.backoff_coefficient = *v;
  if (auto v = number_at(obj, "maximum_interval_ms"))
    base.maximum_interval_ms = *v;
  if (auto v = int_at(obj, "maximum_attempts"))
    base.maximum_attempts = *v;
  if (get_member(obj, "non_retryable_error_codes"))
    base.non_retryable_error_codes = strings_at(obj, "non_retryable_error_codes");
  if (auto j = get_string(obj, "jitter"))
    base.jitter = std::string(*j);
  if (auto v = number_at(obj, "jitter_ratio"))
    base.jitter_ratio = *v;
  return base;
}

result<system_config> system_config::load_text(std::string_view yaml, std::string_view origin) {
  auto doc = parse_yaml(yaml, origin);
  if (!doc)
    return doc.error();
  return system_from_json(*doc, origin);
}

result<system_config> system_config::load_file(const std::string& path) {
  auto doc = read_yaml_file(path);
  if (!doc)
    return doc.error();
  return system_from_json(*doc, path);
}

result<autonomy_config> autonomy_config::load_text(std::string_view yaml, std::string_view origin) {
  auto doc = parse_yaml(yaml, origin);
  if (!doc)
    return doc.error();
  return autonomy_from_json(*doc, origin);
}

result<autonomy_config> autonomy_config::load_file(const std::string& path) {
  auto doc = read_yaml_file(path);
  if (!doc)
    return doc.error();
  return autonomy_from_json(*doc, path);
}

const autonomy_level_def* autonomy_config::find(int level) const noexcept {
  auto it = levels.find(level);
  return it == levels.end() ? nullptr : &it->second;
}

result<opex_config> load_config_text(std::string_view yaml, const std::string& base_dir,
                                     std::string_view origin) {
  auto doc = parse_yaml(yaml, origin);
  if (!doc)
    return doc.error();
  if (doc->is_null())
    *doc = json::object{};
  auto registry = schema_registry::with_embedded();
  if (auto err = registry->check(schema_ids::opex_config, *doc, "configuration")) {
    err.code = error_code::config_error;
    err.message = std::string(origin) + ": invalid configuration";
    err.details["path"] = origin;
    return err;
  }
  const auto& root = doc->get_object();
  opex_config cfg;
  cfg.source_path = std::string(origin);

  // Reference-format files, or opex's embedded defaults.
  if (auto p = get_string(root, "catalogue")) {
    auto cat = tool_catalogue::load_file(resolve_path(base_dir, *p));
    if (!cat)
      return cat.error();
    cfg.catalogue = std::move(cat).value();
  } else {
    auto cat = tool_catalogue::load_text(embedded_file("policies/default/tools.yml"),
                                         "policies/default/tools.yml");
    if (!cat)
      return cat.error();
    cfg.catalogue = std::move(cat).value();
  }
  for (const auto& extra : strings_at(root, "extra_catalogues")) {
    auto cat = tool_catalogue::load_file(resolve_path(base_dir, extra));
    if (!cat)
      return cat.error();
    if (auto err = cfg.catalogue.append(*cat))
      return err;
  }
  if (auto p = get_string(root, "system")) {
    auto sys = system_config::load_file(resolve_path(base_dir, *p));
    if (!sys)
      return sys.error();
    cfg.system = std::move(sys).value();
  } else {
    auto sys = system_config::load_text(embedded_file("policies/default/system.yml"),
                                        "policies/default/system.yml");
    if (!sys)
      return sys.error();
    cfg.system = std::move(sys).value();
  }
  if (auto p = get_string(root, "autonomy")) {
    auto aut = autonomy_config::load_file(resolve_path(base_dir, *p));
    if (!aut)
      return aut.error();
    cfg.autonomy = std::move(aut).value();
  } else {
    auto aut = autonomy_config::load_text(embedded_file("policies/default/autonomy.yml"),
                                          "policies/default/autonomy.yml");
    if (!aut)
      return aut.error();
    cfg.autonomy = std::move(aut).value();
  }

  cfg.autonomy_level = int_at(root, "autonomy_level").value_or(cfg.autonomy.current_level);
  if (!cfg.autonomy.find(cfg.autonomy_level))
    return config_error(origin, "autonomy_level",
                        "level " + std::to_string(cfg.autonomy_level) + " is not defined in autonomy.yml");
  cfg.environment = std::string(get_string(root, "environment").value_or(cfg.system.current_environment));
  cfg.default_user_id = std::string(get_string(root, "default_user_id").value_or("system"));

  if (const auto* s = object_at(root, "storage")) {
    if (auto db = get_string(*s, "database"))
      cfg.storage.database = resolve_path(base_dir, *db);
    if (auto mode = get_string(*s, "checkpoint"))
      cfg.storage.checkpoint = *mode == "on_commit" ? opex_config::checkpoint_mode::on_commit
                                                    : opex_config::checkpoint_mode::background;
    cfg.storage.checkpoint_pages = int_at(*s, "checkpoint_pages").value_or(cfg.storage.checkpoint_pages);
  }
  if (const auto* j = object_at(root, "journal")) {
    cfg.journal.flush_interval_ms = int_at(*j, "flush_interval_ms").value_or(cfg.journal.flush_interval_ms);
    cfg.journal.max_batch = int_at(*j, "max_batch").value_or(cfg.journal.max_batch);
    cfg.journal.group_commit_delay_us = int_at(*j, "group_commit_delay_us").value_or(cfg.journal.group_commit_delay_us);
    cfg.journal.group_commit_siblings =
      int_at(*j, "group_commit_siblings").value_or(cfg.journal.group_commit_siblings);
    cfg.journal.max_attempt_entries = int_at(*j, "max_attempt_entries").value_or(cfg.journal.max_attempt_entries);
    if (const auto* v = get_member(*j, "validate_entries"); v && v->is_bool())
      cfg.journal.validate_entries = v->get_bool();
  }
  if (const auto* t = object_at(root, "targets")) {
    cfg.targets.mode = std::string(get_string(*t, "mode").value_or(cfg.targets.mode));
    cfg.targets.webhook_base_url = std::string(get_string(*t, "webhook_base_url").value_or(""));
    while (cfg.targets.webhook_base_url.ends_with('/'))
      cfg.targets.webhook_base_url.pop_back();
    cfg.targets.timeout_ms = int_at(*t, "timeout_ms").value_or(cfg.targets.timeout_ms);
    cfg.targets.n8n_webhooks = std::string(get_string(*t, "n8n_webhooks").value_or(cfg.targets.n8n_webhooks));
    if (auto ca = get_string(*t, "ca_file"))
      cfg.targets.ca_file = resolve_path(base_dir, *ca);
    if (const auto* v = get_member(*t, "verify_tls"); v && v->is_bool())
      cfg.targets.verify_tls = v->get_bool();
    cfg.targets.max_connections_per_origin =
      int_at(*t, "max_connections_per_origin").value_or(cfg.targets.max_connections_per_origin);
    cfg.targets.idle_connection_timeout_ms =
      int_at(*t, "idle_connection_timeout_ms").value_or(cfg.targets.idle_connection_timeout_ms);
    if (const auto* o = object_at(*t, "overrides"))
      for (const auto& kv : *o) {
        auto target = parse_tool_target(kv.value(), origin, "targets.overrides." + std::string(kv.key()));
        if (!target)
          return target.error();
        cfg.targets.overrides[std::string(kv.key())] = std::move(target).value();
      }
    if (cfg.targets.mode == "webhook" && cfg.targets.webhook_base_url.empty())
      return config_error(origin, "targets.webhook_base_url", "required when targets.mode is webhook");
  }
  if (const auto* k = object_at(root, "kimmy")) {
    cfg.kimmy.mode = std::string(get_string(*k, "mode").value_or("rules"));
    cfg.kimmy.llm = std::string(get_string(*k, "llm").value_or(""));
    cfg.kimmy.extra_sensitive_keywords = strings_at(*k, "extra_sensitive_keywords");
  }

  // Planning table: the user's, or the embedded default's.
  const json::object* prolex = object_at(root, "prolex");
  json::value default_doc;
  const json::object* planning = prolex ? object_at(*prolex, "planning") : nullptr;
  if (!planning) {
    auto def = parse_yaml(embedded_file("policies/default/opex.yml"), "policies/default/opex.yml");
    if (!def)
      return def.error();
    default_doc = std::move(def).value();
    if (const auto* dp = object_at(default_doc.get_object(), "prolex"))
      planning = object_at(*dp, "planning");
  }
  if (prolex) {
    cfg.prolex.mode = std::string(get_string(*prolex, "mode").value_or("rules"));
    cfg.prolex.answer_source = std::string(get_string(*prolex, "answer_source").value_or(""));
    cfg.prolex.llm = std::string(get_string(*prolex, "llm").value_or(""));
    cfg.prolex.max_cost_per_call_usd = number_at(*prolex, "max_cost_per_call_usd").value_or(0.0);
  }
  if (planning)
    for (const auto& kv : *planning) {
      if (!canonical_intent(kv.key()))
        return config_error(origin, "prolex.planning." + std::string(kv.key()), "unknown intent");
      const auto& eo = kv.value().get_object();
      planning_entry e;
      e.tool = std::string(get_string(eo, "tool").value_or(""));
      if (const auto* p = object_at(eo, "payload"))
        e.payload = *p;
      e.required = strings_at(eo, "required");
      if (const auto* p = get_member(eo, "plan"); p && p->is_array())
        e.plan = p->get_array();
      e.answer = std::string(get_string(eo, "answer").value_or(""));
      e.clarification = strings_at(eo, "clarification");
      cfg.prolex.planning[std::string(kv.key())] = std::move(e);
    }

  if (const auto* e = object_at(root, "execution")) {
    cfg.execution.max_parallelism = int_at(*e, "max_parallelism").value_or(cfg.execution.max_parallelism);
    cfg.execution.executor_max_concurrency =
      int_at(*e, "executor_max_concurrency").value_or(cfg.execution.executor_max_concurrency);
    cfg.execution.attempt_timeout_ms = int_at(*e, "attempt_timeout_ms").value_or(cfg.execution.attempt_timeout_ms);
    cfg.execution.attempt_timeout_ms = int_at(*e, "start_to_close_ms").value_or(cfg.execution.attempt_timeout_ms);
    cfg.execution.step_timeout_ms = int_at(*e, "schedule_to_close_ms").value_or(cfg.execution.step_timeout_ms);
    cfg.execution.target_max_concurrency =
      int_at(*e, "target_max_concurrency").value_or(cfg.execution.target_max_concurrency);
    cfg.execution.queue_capacity = int_at(*e, "queue_capacity").value_or(cfg.execution.queue_capacity);
    cfg.execution.minimum_retry_interval_ms =
      int_at(*e, "minimum_retry_interval_ms").value_or(cfg.execution.minimum_retry_interval_ms);
    cfg.execution.maximum_attempts_per_step =
      int_at(*e, "maximum_attempts_per_step").value_or(cfg.execution.maximum_attempts_per_step);
    cfg.execution.scheduler_moderate_poll_attempts =
      int_at(*e, "scheduler_moderate_poll_attempts").value_or(cfg.execution.scheduler_moderate_poll_attempts);
    cfg.execution.max_in_flight_requests =
      int_at(*e, "max_in_flight_requests").value_or(cfg.execution.max_in_flight_requests);
    if (const auto* v = get_member(*e, "jitter_seed"); v && v->is_int64())
      cfg.execution.jitter_seed = static_cast<std::uint64_t>(v->get_int64());
    if (const auto* r = object_at(*e, "retry"))
      cfg.execution.retry = retry_settings_from_json(*r, cfg.execution.retry);
  }
  if (const auto* cb = object_at(root, "circuit_breaker")) {
    auto& b = cfg.circuit_breaker;
    if (const auto* v = get_member(*cb, "enabled"); v && v->is_bool())
      b.enabled = v->get_bool();
    b.failure_rate_threshold = number_at(*cb, "failure_rate_threshold").value_or(b.failure_rate_threshold);
    b.minimum_number_of_calls = int_at(*cb, "minimum_number_of_calls").value_or(b.minimum_number_of_calls);
    b.sliding_window_size = int_at(*cb, "sliding_window_size").value_or(b.sliding_window_size);
    b.slow_call_duration_threshold_ms =
      number_at(*cb, "slow_call_duration_threshold_ms").value_or(b.slow_call_duration_threshold_ms);
    b.slow_call_rate_threshold = number_at(*cb, "slow_call_rate_threshold").value_or(b.slow_call_rate_threshold);
    b.wait_duration_in_open_state_ms =
      number_at(*cb, "wait_duration_in_open_state_ms").value_or(b.wait_duration_in_open_state_ms);
    b.permitted_number_of_calls_in_half_open_state =
      int_at(*cb, "permitted_number_of_calls_in_half_open_state").value_or(b.permitted_number_of_calls_in_half_open_state);
  }
  if (const auto* s = object_at(root, "server")) {
    cfg.server.bind = std::string(get_string(*s, "bind").value_or(cfg.server.bind));
    cfg.server.port = int_at(*s, "port").value_or(cfg.server.port);
    cfg.server.api_keys_env = std::string(get_string(*s, "api_keys_env").value_or(cfg.server.api_keys_env));
    if (auto v = int_at(*s, "max_body_bytes"))
      cfg.server.max_body_bytes = static_cast<std::size_t>(*v);
    cfg.server.threads = int_at(*s, "threads").value_or(cfg.server.threads);
    cfg.server.max_connections = int_at(*s, "max_connections").value_or(cfg.server.max_connections);
    cfg.server.drain_timeout_s = int_at(*s, "drain_timeout_s").value_or(cfg.server.drain_timeout_s);
  }
  if (const auto* i = object_at(root, "idempotency"))
    cfg.idempotency.retention_hours = int_at(*i, "retention_hours").value_or(cfg.idempotency.retention_hours);
  if (const auto* m = object_at(root, "masking")) {
    cfg.masked_keys = strings_at(*m, "keys");
    cfg.masked_patterns = strings_at(*m, "patterns");
    if (const auto* v = get_member(*m, "value_shapes"); v && v->is_bool())
      cfg.mask_value_shapes = v->get_bool();
  }
  if (const auto* t = get_member(root, "tenants"); t && t->is_array())
    for (const auto& item : t->get_array()) {
      const auto& to = item.get_object();
      tenant_settings ts;
      ts.slug = std::string(get_string(to, "slug").value_or(""));
      ts.autonomy_level = int_at(to, "autonomy_level");
      if (ts.autonomy_level && !cfg.autonomy.find(*ts.autonomy_level))
        return config_error(origin, "tenants." + ts.slug + ".autonomy_level", "level not defined in autonomy.yml");
      ts.allowed_tools = strings_at(to, "allowed_tools");
      ts.api_keys_env = std::string(get_string(to, "api_keys_env").value_or(""));
      if (const auto* q = object_at(to, "quotas")) {
        ts.max_requests_per_day = int_at(*q, "max_requests_per_day");
        ts.max_cost_per_day_usd = number_at(*q, "max_cost_per_day_usd");
        if (const auto* tools = object_at(*q, "tools"))
          for (const auto& kv : *tools)
            if (kv.value().is_int64())
              ts.max_executions_per_day[std::string(kv.key())] = static_cast<int>(kv.value().get_int64());
      }
      for (const auto& other : cfg.tenants)
        if (other.slug == ts.slug)
          return config_error(origin, "tenants." + ts.slug, "duplicate tenant slug");
      cfg.tenants.push_back(std::move(ts));
    }
  if (const auto* a = object_at(root, "approvals")) {
    cfg.approvals.expiry_minutes = int_at(*a, "expiry_minutes").value_or(cfg.approvals.expiry_minutes);
    cfg.approvals.secret_env = std::string(get_string(*a, "secret_env").value_or(cfg.approvals.secret_env));
    if (auto f = get_string(*a, "secret_file"))
      cfg.approvals.secret_file = resolve_path(base_dir, *f);
  }
  {
    const auto* pw = object_at(root, "protected_workflows");
    if (pw && get_string(*pw, "file")) {
      auto loaded = load_protected_workflows(resolve_path(base_dir, *get_string(*pw, "file")));
      if (!loaded)
        return loaded.error();
      cfg.protected_workflows = std::move(loaded).value();
    } else {
      auto def = parse_yaml(embedded_file("policies/default/protected_workflows.yml"),
                            "policies/default/protected_workflows.yml");
      if (def && def->is_object())
        for (const auto& w : def->get_object().contains("forbidden_workflows") ? def->at("forbidden_workflows").as_array()
                                                                              : json::array{})
          if (w.is_object())
            if (auto n = get_string(w.get_object(), "name"))
              cfg.protected_workflows.names.emplace_back(*n);
    }
    if (pw) {
      for (auto& n : strings_at(*pw, "names"))
        cfg.protected_workflows.names.push_back(std::move(n));
      for (auto& n : strings_at(*pw, "prefixes"))
        cfg.protected_workflows.prefixes.push_back(std::move(n));
      for (auto& n : strings_at(*pw, "keywords"))
        cfg.protected_workflows.keywords.push_back(std::move(n));
    }
  }
  if (const auto* c = object_at(root, "tool_costs"))
    for (const auto& kv : *c)
      if (kv.value().is_number())
        cfg.tool_costs[std::string(kv.key())] = kv.value().to_number<double>();
  if (const auto* sec = object_at(root, "secrets"))
    if (auto d = get_string(*sec, "dir"))
      cfg.secrets_dir = resolve_path(base_dir, *d);
  if (const auto* m = object_at(root, "mcp")) {
    cfg.mcp.protocol_version = std::string(get_string(*m, "protocol_version").value_or(cfg.mcp.protocol_version));
    if (auto d = get_string(*m, "log_dir"))
      cfg.mcp.log_dir = resolve_path(base_dir, *d);
    if (const auto* servers = object_at(*m, "servers"))
      for (const auto& kv : *servers) {
        auto server = mcp_server_from_json(std::string(kv.key()), kv.value().get_object(), base_dir, origin);
        if (!server)
          return server.error();
        cfg.mcp.servers.emplace(std::string(kv.key()), std::move(server).value());
      }
  }
  if (const auto* l = object_at(root, "llm")) {
    cfg.llm.default_endpoint = std::string(get_string(*l, "default").value_or(""));
    if (const auto* eps = object_at(*l, "endpoints"))
      for (const auto& kv : *eps) {
        const auto& o = kv.value().get_object();
        llm_endpoint_settings e;
        e.name = std::string(kv.key());
        e.provider = std::string(get_string(o, "provider").value_or("anthropic"));
        e.base_url = std::string(get_string(o, "base_url").value_or(
          e.provider == "anthropic" ? "https://api.anthropic.com" : "https://api.openai.com/v1"));
        while (e.base_url.ends_with('/'))
          e.base_url.pop_back();
        e.model = std::string(get_string(o, "model").value_or(""));
        e.api_key = anchor_reference(base_dir, std::string(get_string(o, "api_key").value_or("")));
        e.max_tokens = int_at(o, "max_tokens").value_or(e.max_tokens);
        e.temperature = number_at(o, "temperature").value_or(e.temperature);
        e.timeout_ms = int_at(o, "timeout_ms").value_or(e.timeout_ms);
        e.input_cost_per_mtok_usd = number_at(o, "input_cost_per_mtok_usd").value_or(0.0);
        e.output_cost_per_mtok_usd = number_at(o, "output_cost_per_mtok_usd").value_or(0.0);
        e.anthropic_version = std::string(get_string(o, "anthropic_version").value_or(e.anthropic_version));
        if (const auto* r = object_at(o, "retry"))
          e.retry = retry_settings_from_json(*r, e.retry);
        if (!e.api_key.empty() && !is_reference(e.api_key))
          return config_error(origin, "llm.endpoints." + e.name + ".api_key",
                              "credentials are references (env:NAME or file:PATH), never literals");
        cfg.llm.endpoints.emplace(e.name, std::move(e));
      }
    if (!cfg.llm.default_endpoint.empty() && !cfg.llm.endpoints.contains(cfg.llm.default_endpoint))
      return config_error(origin, "llm.default", "no endpoint named " + cfg.llm.default_endpoint);
  }
  if (const auto* n = object_at(root, "n8n")) {
    auto& ns = cfg.n8n;
    ns.default_instance = std::string(get_string(*n, "default_instance").value_or(""));
    if (const auto* v = get_member(*n, "route_tools"); v && v->is_bool())
      ns.route_tools = v->get_bool();
    if (const auto* d = object_at(*n, "design")) {
      ns.design_max_nodes = int_at(*d, "max_nodes").value_or(ns.design_max_nodes);
      ns.design_llm = std::string(get_string(*d, "llm").value_or(""));
    }
    ns.poll_interval_ms = int_at(*n, "poll_interval_ms").value_or(ns.poll_interval_ms);
    if (auto d = get_string(*n, "session_dir"))
      ns.session_dir = resolve_path(base_dir, *d);
    if (const auto* insts = object_at(*n, "instances"))
      for (const auto& kv : *insts) {
        const auto& o = kv.value().get_object();
        n8n_instance_settings i;
        i.name = std::string(kv.key());
        i.base_url = std::string(get_string(o, "base_url").value_or(""));
        while (i.base_url.ends_with('/'))
          i.base_url.pop_back();
        i.api_key = std::string(get_string(o, "api_key").value_or(""));
        i.environment = std::string(get_string(o, "environment").value_or("sandbox"));
        i.owner_email = std::string(get_string(o, "owner_email").value_or(""));
        i.owner_password = std::string(get_string(o, "owner_password").value_or(""));
        if (const auto* v = get_member(o, "allow_activation"); v && v->is_bool())
          i.allow_activation = v->get_bool();
        i.production_tag = std::string(get_string(o, "production_tag").value_or(i.production_tag));
        i.timeout_ms = int_at(o, "timeout_ms").value_or(i.timeout_ms);
        const std::string where = "n8n.instances." + i.name;
        if (!i.api_key.empty() && !is_reference(i.api_key))
          return config_error(origin, where + ".api_key", "credentials are references (env:NAME or file:PATH), never literals");
        if (!i.owner_password.empty() && !is_reference(i.owner_password))
          return config_error(origin, where + ".owner_password",
                              "credentials are references (env:NAME or file:PATH), never literals");
        i.api_key = anchor_reference(base_dir, i.api_key);
        i.owner_password = anchor_reference(base_dir, i.owner_password);
        i.owner_email = anchor_reference(base_dir, i.owner_email);
        ns.instances.emplace(i.name, std::move(i));
      }
    if (!ns.default_instance.empty() && !ns.instances.contains(ns.default_instance))
      return config_error(origin, "n8n.default_instance", "no instance named " + ns.default_instance);
    if (!ns.design_llm.empty() && !cfg.llm.endpoints.contains(ns.design_llm))
      return config_error(origin, "n8n.design.llm", "no endpoint named " + ns.design_llm + " under llm.endpoints");
  }
  for (auto [agent, mode, name] : {std::tuple{"kimmy", cfg.kimmy.mode, cfg.kimmy.llm},
                                   std::tuple{"prolex", cfg.prolex.mode, cfg.prolex.llm}}) {
    if (!name.empty() && !cfg.llm.endpoints.contains(name))
      return config_error(origin, std::string(agent) + ".llm", "no endpoint named " + name + " under llm.endpoints");
    if (mode != "rules" && !cfg.llm.find(name))
      return config_error(origin, std::string(agent) + ".mode",
                          "mode " + mode + " needs an LLM endpoint (llm.endpoints and llm.default or " + agent + ".llm)");
  }
  // Catalogue tools may name MCP servers opex does not have (the reference names github and
  // n8n): they fail with CONNECTOR_UNAVAILABLE when called. Overrides are the user's own.
  for (const auto& [id, target] : cfg.targets.overrides)
    if (auto server = target.text("server", target.text("mcp_server"));
        target.type == "mcp_tool" && !cfg.mcp.servers.contains(server))
      return config_error(origin, "targets.overrides." + id + ".server",
                          "no MCP server named " + server + " under mcp.servers");
  return cfg;
}

const n8n_instance_settings* n8n_settings::for_environment(std::string_view environment) const noexcept {
  if (!environment.empty())
    for (const auto& [name, i] : instances)
      if (i.environment == environment)
        return &i;
  if (!default_instance.empty())
    if (auto it = instances.find(default_instance); it != instances.end())
      return &it->second;
  for (const auto& [name, i] : instances)
    if (i.environment == "sandbox")
      return &i;
  return instances.size() == 1 ? &instances.begin()->second : nullptr;
}

const llm_endpoint_settings* llm_settings::find(std::string_view name) const noexcept {
  if (name.empty()) {
    if (!default_endpoint.empty())
      name = default_endpoint;
    else if (endpoints.size() == 1)
      return &endpoints.begin()->second;
    else
      return nullptr;
  }
  auto it = endpoints.find(std::string(name));
  return it == endpoints.end() ? nullptr : &it->second;
}

const tenant_settings* opex_config::find_tenant(std::string_view slug) const noexcept {
  for (const auto& t : tenants)
    if (t.slug == slug)
      return &t;
  return nullptr;
}

int opex_config::level_for(std::string_view tenant) const noexcept {
  if (const auto* t = find_tenant(tenant); t && t->autonomy_level)
    return *t->autonomy_level;
  return autonomy_level;
}

result<protected_workflow_settings> load_protected_workflows(const std::string& path) {
  auto doc = read_yaml_file(path);
  if (!doc)
    return doc.error();
  if (!doc->is_object())
    return config_error(path, "(root)", "a protected-workflows file is a mapping");
  protected_workflow_settings out;
  const auto& root = doc->get_object();
  if (const auto* list = get_member(root, "forbidden_workflows"); list && list->is_array())
    for (const auto& w : list->get_array()) {
      if (!w.is_object())
        continue;
      if (auto n = get_string(w.get_object(), "name"))
        out.names.emplace_back(*n);
      if (auto f = get_string(w.get_object(), "file")) {
        std::string file(*f);
        out.names.push_back(file);
        if (file.ends_with(".json"))
          out.names.push_back(file.substr(0, file.size() - 5));
      }
    }
  if (const auto* pat = object_at(root, "forbidden_patterns")) {
    out.prefixes = strings_at(*pat, "numeric_prefixes");
    out.keywords = strings_at(*pat, "keywords");
  }
  return out;
}

result<opex_config> load_config(const std::string& path) {
  if (path.empty())
    return load_config_text(embedded_file("policies/default/opex.yml"), "", "(built-in default)");
  auto text = read_file(path);
  if (!text)
    return config_error(path, "(file)", "cannot read the configuration file");
  auto base = fs::absolute(path).parent_path().string();
  return load_config_text(*text, base, path);
}

std::string database_path(const opex_config& cfg) {
  if (!cfg.storage.database.empty())
    return cfg.storage.database;
  fs::path dir;
  if (const char* d = std::getenv("OPEX_DATA_DIR"); d && *d)
    dir = d;
  else if (const char* x = std::getenv("XDG_DATA_HOME"); x && *x)
    dir = fs::path(x) / "opex";
  else if (const char* h = std::getenv("HOME"); h && *h)
    dir = fs::path(h) / ".local/share/opex";
  else
    dir = fs::current_path() / ".opex";
  return (dir / "opex.db").string();
}

} // namespace opex
