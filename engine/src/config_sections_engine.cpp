// opex.yml's engine sections: storage, journal, execution, circuit_breaker, server, idempotency,
// tracing, logging, masking, approvals, tool_costs, secrets.
#include "config_reading.hpp"

#include "opex/catalogue.hpp"
#include "opex/contracts.hpp"
#include "opex/json_util.hpp"
#include "opex/schema_registry.hpp"

namespace opex::config_detail {

namespace json = boost::json;

error_info read_storage(const json::value& section, opex_config& cfg, const config_reading& r) {
  const auto* s = section.is_object() ? &section.get_object() : nullptr;
  if (!s)
    return {};
  if (auto backend = get_string(*s, "backend"))
    cfg.storage.backend = std::string(*backend);
  if (auto db = get_string(*s, "database"))
    cfg.storage.database = resolve_path(r.base_dir, *db);
  if (auto mode = get_string(*s, "checkpoint"))
    cfg.storage.checkpoint = *mode == "on_commit" ? opex_config::checkpoint_mode::on_commit
                                                  : opex_config::checkpoint_mode::background;
  cfg.storage.checkpoint_pages = int_at(*s, "checkpoint_pages").value_or(cfg.storage.checkpoint_pages);
  return {};
}

error_info read_journal(const json::value& section, opex_config& cfg, const config_reading&) {
  const auto* j = section.is_object() ? &section.get_object() : nullptr;
  if (!j)
    return {};
  cfg.journal.flush_interval_ms = int_at(*j, "flush_interval_ms").value_or(cfg.journal.flush_interval_ms);
  cfg.journal.max_batch = int_at(*j, "max_batch").value_or(cfg.journal.max_batch);
  cfg.journal.group_commit_delay_us = int_at(*j, "group_commit_delay_us").value_or(cfg.journal.group_commit_delay_us);
  cfg.journal.group_commit_siblings =
    int_at(*j, "group_commit_siblings").value_or(cfg.journal.group_commit_siblings);
  cfg.journal.max_attempt_entries = int_at(*j, "max_attempt_entries").value_or(cfg.journal.max_attempt_entries);
  if (const auto* v = get_member(*j, "validate_entries"); v && v->is_bool())
    cfg.journal.validate_entries = v->get_bool();
  return {};
}

error_info read_execution(const json::value& section, opex_config& cfg, const config_reading&) {
  const auto* e = section.is_object() ? &section.get_object() : nullptr;
  if (!e)
    return {};
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
  return {};
}

error_info read_circuit_breaker(const json::value& section, opex_config& cfg, const config_reading&) {
  const auto* cb = section.is_object() ? &section.get_object() : nullptr;
  if (!cb)
    return {};
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
  return {};
}

rate_limit_settings rate_limit_from(const json::object& o, rate_limit_settings base) {
  base.requests_per_minute = int_at(o, "requests_per_minute").value_or(base.requests_per_minute);
  base.burst = int_at(o, "burst").value_or(base.burst);
  return base;
}

signature_settings signatures_from(const json::object& o, const std::string& base_dir) {
  signature_settings s;
  s.secret = anchor_reference(base_dir, std::string(get_string(o, "secret").value_or("")));
  s.tolerance_s = int_at(o, "tolerance_s").value_or(s.tolerance_s);
  if (auto it = o.find("required"); it != o.end() && it->value().is_bool())
    s.required = it->value().get_bool();
  return s;
}

error_info read_server(const json::value& section, opex_config& cfg, const config_reading& r) {
  const auto* s = section.is_object() ? &section.get_object() : nullptr;
  if (!s)
    return {};
  cfg.server.bind = std::string(get_string(*s, "bind").value_or(cfg.server.bind));
  cfg.server.port = int_at(*s, "port").value_or(cfg.server.port);
  cfg.server.api_keys_env = std::string(get_string(*s, "api_keys_env").value_or(cfg.server.api_keys_env));
  if (auto v = int_at(*s, "max_body_bytes"))
    cfg.server.max_body_bytes = static_cast<std::size_t>(*v);
  cfg.server.threads = int_at(*s, "threads").value_or(cfg.server.threads);
  cfg.server.max_connections = int_at(*s, "max_connections").value_or(cfg.server.max_connections);
  cfg.server.drain_timeout_s = int_at(*s, "drain_timeout_s").value_or(cfg.server.drain_timeout_s);
  if (auto log = get_string(*s, "access_log"))
    cfg.server.access_log = *log == "stderr" || *log == "stdout" || *log == "off" ? std::string(*log)
                                                                                  : resolve_path(r.base_dir, *log);
  if (const auto* tls = object_at(*s, "tls")) {
    cfg.server.tls_certificate = resolve_path(r.base_dir, get_string(*tls, "certificate").value_or(""));
    cfg.server.tls_private_key = resolve_path(r.base_dir, get_string(*tls, "private_key").value_or(""));
  }
  if (const auto* cors = object_at(*s, "cors")) {
    cfg.server.allowed_origins = strings_at(*cors, "allowed_origins");
    cfg.server.cors_max_age_s = int_at(*cors, "max_age_s").value_or(cfg.server.cors_max_age_s);
  }
  if (const auto* rl = object_at(*s, "rate_limit"))
    cfg.server.rate_limit = rate_limit_from(*rl, cfg.server.rate_limit);
  if (const auto* sig = object_at(*s, "signatures"))
    cfg.server.signatures = signatures_from(*sig, r.base_dir);
  return {};
}

error_info read_idempotency(const json::value& section, opex_config& cfg, const config_reading&) {
  const auto* i = section.is_object() ? &section.get_object() : nullptr;
  if (!i)
    return {};
  cfg.idempotency.retention_hours = int_at(*i, "retention_hours").value_or(cfg.idempotency.retention_hours);
  return {};
}

error_info read_tracing(const json::value& section, opex_config& cfg, const config_reading& r) {
  const auto* t = section.is_object() ? &section.get_object() : nullptr;
  if (!t)
    return {};
  auto& out = cfg.tracing;
  out.endpoint = std::string(get_string(*t, "endpoint").value_or(out.endpoint));
  out.service_name = std::string(get_string(*t, "service_name").value_or(out.service_name));
  out.max_batch = int_at(*t, "max_batch").value_or(out.max_batch);
  out.flush_interval_ms = int_at(*t, "flush_interval_ms").value_or(out.flush_interval_ms);
  out.max_queue = int_at(*t, "max_queue").value_or(out.max_queue);
  out.timeout_ms = int_at(*t, "timeout_ms").value_or(out.timeout_ms);
  if (const auto* v = get_member(*t, "capture_content"); v && v->is_bool())
    out.capture_content = v->get_bool();
  if (const auto* h = object_at(*t, "headers"))
    for (const auto& kv : *h)
      if (kv.value().is_string()) {
        std::string name(kv.key());
        auto value = anchor_reference(r.base_dir, std::string(kv.value().get_string()));
        if (secret_looking(name) && !is_reference(value))
          return config_error(r.origin, "tracing.headers." + name,
                              "credentials are references (env:NAME or file:PATH), never literals");
        out.headers[name] = std::move(value);
      }
  return {};
}

error_info read_logging(const json::value& section, opex_config& cfg, const config_reading& r) {
  const auto* l = section.is_object() ? &section.get_object() : nullptr;
  if (!l)
    return {};
  if (auto level = get_string(*l, "level"))
    cfg.logging.level = parse_log_level(*level).value_or(cfg.logging.level);  // the schema lists the names
  if (auto target = get_string(*l, "target")) {
    std::string t(*target);
    cfg.logging.target = (t == "stderr" || t == "stdout" || t == "off") ? t : resolve_path(r.base_dir, t);
  }
  return {};
}

error_info read_masking(const json::value& section, opex_config& cfg, const config_reading&) {
  const auto* m = section.is_object() ? &section.get_object() : nullptr;
  if (!m)
    return {};
  cfg.masked_keys = strings_at(*m, "keys");
  cfg.masked_patterns = strings_at(*m, "patterns");
  if (const auto* v = get_member(*m, "value_shapes"); v && v->is_bool())
    cfg.mask_value_shapes = v->get_bool();
  return {};
}

error_info read_approvals(const json::value& section, opex_config& cfg, const config_reading& r) {
  const auto* a = section.is_object() ? &section.get_object() : nullptr;
  if (!a)
    return {};
  cfg.approvals.expiry_minutes = int_at(*a, "expiry_minutes").value_or(cfg.approvals.expiry_minutes);
  cfg.approvals.secret_env = std::string(get_string(*a, "secret_env").value_or(cfg.approvals.secret_env));
  if (auto f = get_string(*a, "secret_file"))
    cfg.approvals.secret_file = resolve_path(r.base_dir, *f);
  return {};
}

error_info read_tool_costs(const json::value& section, opex_config& cfg, const config_reading&) {
  const auto* c = section.is_object() ? &section.get_object() : nullptr;
  if (!c)
    return {};
  for (const auto& kv : *c)
    if (kv.value().is_number())
      cfg.tool_costs[std::string(kv.key())] = kv.value().to_number<double>();
  return {};
}

error_info read_secrets(const json::value& section, opex_config& cfg, const config_reading& r) {
  const auto* sec = section.is_object() ? &section.get_object() : nullptr;
  if (!sec)
    return {};
  if (auto d = get_string(*sec, "dir"))
    cfg.secrets_dir = resolve_path(r.base_dir, *d);
  return {};
}

} // namespace opex::config_detail
