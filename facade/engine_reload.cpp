// engine::reload: a new policy generation (actors/runtime.hpp) built from a configuration that
// passed the start-up checks, swapped in at once; admitted requests keep theirs
// (docs/operations.md, "Reload").
#include "engine_impl.hpp"

#include "opex/connectors/connector_factory.hpp"
#include "opex/log.hpp"

#include <set>
#include <tuple>

namespace opex {

namespace json = boost::json;

namespace {

std::set<std::string> keys_of(const auto& map) {
  std::set<std::string> out;
  for (const auto& [k, _] : map)
    out.insert(k);
  return out;
}

/// The sections that differ between `now` and `next` and apply only at the next start.
/// Whether two `alerts:` sections differ in anything the evaluator uses.
bool alerts_differ(const alert_settings& a, const alert_settings& b) {
  auto rule_key = [](const alert_rule& r) {
    return std::tuple(r.name, r.kind, r.threshold, r.window_ms, r.min_count, r.for_ms, r.statistic, r.tools, r.severity,
                      r.targets);
  };
  auto target_key = [](const alert_target& t) {
    return std::tuple(t.name, t.type, t.url, t.secret_env, t.timeout_ms, t.tool, t.tenant);
  };
  if (a.enabled != b.enabled || a.evaluation_interval_ms != b.evaluation_interval_ms
      || a.max_delivery_attempts != b.max_delivery_attempts || a.rules.size() != b.rules.size()
      || a.targets.size() != b.targets.size())
    return true;
  for (std::size_t i = 0; i < a.rules.size(); ++i)
    if (rule_key(a.rules[i]) != rule_key(b.rules[i]))
      return true;
  for (std::size_t i = 0; i < a.targets.size(); ++i)
    if (target_key(a.targets[i]) != target_key(b.targets[i]))
      return true;
  return false;
}

std::vector<std::string> restart_needed(const opex_config& now, const opex_config& next,
                                        const actors::runtime_routing& routes) {
  std::vector<std::string> out;
  auto differs = [&](bool changed, const char* section) {
    if (changed)
      out.emplace_back(section);
  };
  differs(database_path(now) != database_path(next) || now.storage.backend != next.storage.backend, "storage");
  differs(now.journal.max_batch != next.journal.max_batch || now.journal.flush_interval_ms != next.journal.flush_interval_ms,
          "journal");
  const auto &a = now.execution, &b = next.execution;
  differs(a.max_parallelism != b.max_parallelism || a.executor_max_concurrency != b.executor_max_concurrency
            || a.target_max_concurrency != b.target_max_concurrency || a.queue_capacity != b.queue_capacity
            || a.attempt_timeout_ms != b.attempt_timeout_ms || a.max_in_flight_requests != b.max_in_flight_requests,
          "execution");
  const auto &s = now.server, &t = next.server;
  differs(s.bind != t.bind || s.port != t.port || s.threads != t.threads || s.tls_certificate != t.tls_certificate
            || s.tls_private_key != t.tls_private_key || s.api_keys_env != t.api_keys_env
            || s.allowed_origins != t.allowed_origins || s.access_log != t.access_log,
          "server");
  differs(now.targets.mode != next.targets.mode || now.targets.webhook_base_url != next.targets.webhook_base_url
            || now.targets.ca_file != next.targets.ca_file,
          "targets");
  differs(keys_of(now.mcp.servers) != keys_of(next.mcp.servers), "mcp");
  differs(keys_of(now.llm.endpoints) != keys_of(next.llm.endpoints), "llm");
  differs(keys_of(now.n8n.instances) != keys_of(next.n8n.instances), "n8n");
  differs(now.tracing.endpoint != next.tracing.endpoint, "tracing");
  differs(now.logging.level != next.logging.level || now.logging.target != next.logging.target, "logging");
  differs(now.secrets_dir != next.secrets_dir, "secrets");
  differs(alerts_differ(now.alerts, next.alerts), "alerts");
  differs(now.masked_keys != next.masked_keys || now.masked_patterns != next.masked_patterns, "masking");
  std::set<std::string> missing;
  for (const auto& tool : next.catalogue.tools())
    if (!routes.executors.empty() && !routes.executors.contains(tool.category))
      missing.insert(tool.category);
  for (const auto& c : missing)
    out.push_back("execution: no executor for the new tool category " + c);
  return out;
}

} // namespace

result<reload_report> engine::reload(const std::string& config_path) {
  auto loaded = load_config(config_path);
  if (!loaded) {
    log_event(log_level::error, "config.reload_failed", "the configuration was not reloaded: " + loaded.error().message,
              json::object{{"path", config_path}});
    return loaded.error();
  }
  return reload(std::move(loaded).value());
}

result<reload_report> engine::reload(opex_config cfg) {
  auto& im = *impl_;
  auto refuse = [](error_info err) -> result<reload_report> {
    log_event(log_level::error, "config.reload_failed", "the configuration was not reloaded: " + err.message,
              json::object{{"error_code", error_code_name(err.code)}});
    return err;
  };
  if (!im.rt || im.read_only || im.stopped)
    return refuse(make_error(error_code::unavailable, "a read-only or stopped engine does not reload"));
  if (auto bad = check_configuration(cfg))
    return refuse(std::move(bad));
  connectors::route_targets(cfg);
  std::lock_guard one_at_a_time(im.reload_m);
  auto previous = im.current_generation();  // admissions go on meanwhile, under this one
  const auto& now = previous ? previous->config : im.rt->config;
  auto gen = std::make_shared<actors::policy_generation>();
  gen->number = (previous ? previous->number : 1) + 1;
  gen->config = std::move(cfg);
  gen->schemas = schema_registry::with_embedded();
  try {
    load_payload_schemas(gen->config, *gen->schemas);
  } catch (const std::exception& e) {
    return refuse(make_error(error_code::config_error, e.what(), json::object{{"key", "catalogue"}}));
  }
  auto& agents = gen->agents;
  agents.kimmy = std::make_unique<actors::kimmy_classifier>(gen->config);
  make_rule_planner(agents, gen->config);
  agents.proxy = std::make_unique<actors::proxy_checker>(gen->config, *gen->schemas);
  if (im.rt->llm) {
    agents.llm_plans = std::make_unique<actors::llm_planner>(gen->config, *gen->schemas, *agents.proxy);
    agents.llm_kimmy = std::make_unique<actors::llm_classifier>(gen->config, *agents.kimmy);
  }
  reload_report report;
  report.generation = gen->number;
  report.restart_needed = restart_needed(now, gen->config, *im.rt);
  json::array later;
  for (const auto& r : report.restart_needed)
    later.emplace_back(r);
  json::object fields{{"generation", report.generation},
                      {"source", gen->config.source_path},
                      {"tools", gen->config.catalogue.tools().size()},
                      {"autonomy_level", gen->config.autonomy_level},
                      {"restart_needed", std::move(later)}};
  {
    std::lock_guard swap(im.generation_m);
    im.generation = std::move(gen);
  }
  log_event(log_level::info, "config.reloaded", "the configuration was reloaded", fields);  // in effect now
  return report;
}

std::shared_ptr<const opex_config> engine::current_configuration() const {
  if (auto gen = impl_->current_generation())
    return std::shared_ptr<const opex_config>(gen, &gen->config);
  return std::shared_ptr<const opex_config>(impl_->rt, &impl_->rt->config);
}

std::shared_ptr<const schema_registry> engine::current_schemas() const {
  if (auto gen = impl_->current_generation())
    return std::shared_ptr<const schema_registry>(gen, gen->schemas.get());
  return impl_->rt->schemas;
}

std::uint64_t engine::configuration_generation() const {
  auto gen = impl_->current_generation();
  return gen ? gen->number : 1;
}

} // namespace opex
