// The composition root behind opex::engine: configuration, target resolution, connectors, the database lock, the actor
// system, recovery, queries and shutdown. Submissions are in engine_submit.cpp.
#include "engine_impl.hpp"

#include "opex/log.hpp"

#include "opex/connectors/connector_factory.hpp"
#include "opex/connectors/knowledge_fts.hpp"
#include "prolex/document_knowledge.hpp"
#include "prolex/system_knowledge.hpp"
#include "opex/policies/guard_policy.hpp"
#include "opex/connectors/storage.hpp"
#include "opex/connectors/secret_store.hpp"
#include "opex/connectors/http_client.hpp"
#include "opex/connectors/llm_client.hpp"
#include "opex/connectors/mcp_connector.hpp"
#include "opex/ids.hpp"
#include "opex/json_util.hpp"
#include "opex/policies/confirmation_code.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include <filesystem>
#include <atomic>
#include <fstream>
#include <random>
#include <stdexcept>

namespace opex {

namespace json = boost::json;
namespace fs = std::filesystem;

error_info check_configuration(opex_config& cfg) {
  schema_registry target_schemas;
  connectors::add_target_schemas(target_schemas);
  if (auto bad = connectors::check_targets(cfg, target_schemas))
    return bad;
  try {
    (void)policies::step_policy_chain(cfg.guard.step_policies);
  } catch (const std::invalid_argument& e) {
    return make_error(error_code::config_error, e.what(), json::object{{"key", "guard.step_policies"}});
  }
  return connectors::check_storage_backend(cfg.storage.backend);
}

namespace {

/// Loads one schema the catalogue names (`what`: payload or response) unless embedded, from
/// the catalogue's folder or its parents. Throws std::runtime_error when it cannot be found.
void load_tool_schema(const opex_config& cfg, schema_registry& schemas, const tool_definition& tool,
                      const std::string& path, std::string_view what) {
  if (path.empty() || schemas.contains(path))
    return;
  for (fs::path dir = cfg.catalogue.origin_dir(); !dir.empty(); dir = dir.parent_path()) {
    auto candidate = dir / path;
    if (fs::exists(candidate)) {
      auto added = schemas.add_file(path, candidate.string());
      if (!added)
        throw std::runtime_error(std::string(what) + " schema of " + tool.id + ": " + added.error().message);
      return;
    }
    if (dir == dir.root_path())
      break;
  }
  throw std::runtime_error(std::string(what) + " schema " + path + " of tool " + tool.id
                           + " is neither embedded nor found next to the catalogue");
}

} // namespace

void make_rule_planner(actors::runtime_agents& agents, const opex_config& cfg) {
  agents.planner.reset();
  agents.knowledge.reset();
  if (auto index = connectors::open_knowledge_index()) {
    (*index)->add(actors::system_documents(cfg));
    (*index)->add(actors::embedded_doc_documents());
    std::vector<std::string> unreadable;
    (*index)->add(actors::file_documents(cfg.prolex.knowledge_documents, unreadable));
    for (const auto& path : unreadable)
      log_event(log_level::warn, "prolex.knowledge_document_unreadable", "cannot read " + path);
    agents.knowledge = std::move(index).value();
  } else {
    log_event(log_level::warn, "prolex.knowledge_unavailable", index.error().message);
  }
  agents.planner = std::make_unique<actors::rule_planner>(cfg, agents.knowledge.get());
}

void load_payload_schemas(const opex_config& cfg, schema_registry& schemas) {
  for (const auto& tool : cfg.catalogue.tools()) {
    load_tool_schema(cfg, schemas, tool, tool.payload_schema, "payload");
    load_tool_schema(cfg, schemas, tool, tool.response_schema, "response");
  }
}

/// The connectors the configuration asks for, built by their factories in registry order
/// (connectors/connector_registry.cpp): webhook and builtin always; llm, n8n_api and mcp_tool
/// when configured. Returns their HTTP client (the alert webhooks use it too).
std::shared_ptr<connectors::http_client> add_connectors(actors::runtime& runtime, const std::string& database) {
  auto* rt = &runtime;
  connectors::http_client_options http_opts;
  http_opts.ca_file = rt->config.targets.ca_file;
  http_opts.verify_tls = rt->config.targets.verify_tls;
  http_opts.max_connections_per_origin = static_cast<std::size_t>(rt->config.targets.max_connections_per_origin);
  http_opts.idle_timeout = std::chrono::milliseconds(rt->config.targets.idle_connection_timeout_ms);
  connectors::connector_environment env;
  env.config = &rt->config;
  env.database = database;
  env.http = std::make_shared<connectors::http_client>(http_opts);
  env.secrets = std::make_shared<connectors::secret_store>(rt->config.secrets_dir);
  env.time = rt->time;
  env.journal = [rt](journal_entry e) {
    if (rt->store)
      caf::anon_send(rt->store, actors::journal_atom::value, std::move(e));
  };
  rt->secrets = env.secrets;
  for (const auto* factory : connectors::connector_factories())
    if (factory->configured(rt->config))
      rt->connectors.emplace(std::string(factory->type()), factory->create(env));
  rt->llm = env.llm;
  if (rt->llm) {
    rt->llm_plans = std::make_unique<actors::llm_planner>(rt->config, *rt->schemas, *rt->proxy);
    rt->llm_kimmy = std::make_unique<actors::llm_classifier>(rt->config, *rt->kimmy);
  }
  return env.http;
}

/// The HMAC key of confirmation codes: env var or file, else a random key kept in the database.
std::string approval_secret_of(const opex_config& cfg, const std::string& database) {
  std::string secret;
  if (const char* env = std::getenv(cfg.approvals.secret_env.c_str()); env && *env) {
    secret = env;
  } else if (!cfg.approvals.secret_file.empty()) {
    std::ifstream in(cfg.approvals.secret_file);
    std::getline(in, secret);
  }
  if (secret.empty()) {
    auto storage = connectors::open_storage(cfg.storage, database);
    if (!storage)
      throw engine_error(storage.error());
    secret = (*storage)->plans().secret("approval_secret");
  }
  return secret;
}

/// Approval JSON for the API (connectors::approval_record::to_json).
json::object approval_json(const connectors::approval_record& a) {
  return a.to_json();
}

void engine::impl::shutdown() {
  std::lock_guard lock_guard(stop_m);
  if (!system || !rt || stopped.exchange(true))
    return;
  if (sweeper)
    caf::anon_send_exit(sweeper, caf::exit_reason::user_shutdown);
  sweeper = nullptr;
  if (alerts)
    caf::anon_send_exit(alerts, caf::exit_reason::user_shutdown);
  alerts = nullptr;
  // Running plans stop here (callers still waiting get UNAVAILABLE); their committed state
  // resumes at the next start on this database.
  rt->requests.stop_all();
  if (rt->store) {
    caf::scoped_actor self{*system};
    self->request(rt->store, std::chrono::seconds(30), actors::flush_atom::value)
      .receive([](bool) {}, [](caf::error&) {});
  }
}

void engine::impl::release() {
  shutdown();
  if (!system || !rt)
    return;
  if (kimmy)
    caf::anon_send_exit(kimmy, caf::exit_reason::user_shutdown);
  kimmy = nullptr;
  actors::stop_agents(*system, *rt);
  system->await_all_actors_done();
  rt->connectors.clear();  // joins connector threads while the system still exists
  if (tracer)
    tracer->stop();  // the last spans are sent
  // A client released from its own I/O thread ends that thread by itself: let it finish before
  // the process may exit.
  connectors::http_client::wait_for_threads(std::chrono::seconds(2));
  // CAF's actor_system waits for every thread that called into it to drop its logger: the
  // threads of an embedding program (opexd's I/O threads) must have ended before this.
  system.reset();
  lock.reset();
}

void engine::impl::start_sweeper() {
  auto* imp = this;
  sweeper = system->spawn([imp](caf::event_based_actor* self) -> caf::behavior {
    self->send(self, actors::sweep_atom::value);
    return {
      [self, imp](actors::sweep_atom) {
        self->request(imp->rt->store, std::chrono::seconds(60), actors::expire_atom::value)
          .then([imp](actors::approval_list& expired) {
            for (const auto& a : expired)
              imp->notify(a, "");
          });
        self->request(imp->rt->store, std::chrono::seconds(60), actors::purge_atom::value).then([](std::size_t) {});
        imp->maybe_improve();
        self->delayed_send(self, std::chrono::minutes(1), actors::sweep_atom::value);
      },
    };
  });
}

void engine::impl::notify(const connectors::approval_record& a, const std::string& code) {
  if (auto sup = rt->requests.find(a.request_id))
    caf::anon_send(sup, actors::approval_atom::value, a, code);
}

void engine::impl::recover() {
  caf::scoped_actor self{*system};
  actors::stored_plans plans;
  self->request(rt->store, std::chrono::seconds(60), actors::recover_atom::value)
    .receive([&](actors::stored_plans& p) { plans = std::move(p); }, [](caf::error&) {});
  for (auto& p : plans) {
    if (!p.request || !p.request->output.is_object())
      continue;
    actors::request_context ctx;
    ctx.request_id = p.request->id;
    ctx.tenant = p.request->tenant;
    ctx.user_id = p.request->user_id;
    ctx.idempotency_key = p.request->idempotency_key;
    ctx.body_digest = p.request->body_digest;
    ctx.received = rt->elapsed_now();
    ctx.planned_by = "client";
    auto g = actors::guard_for(*rt, ctx);
    auto checked = rt->proxy->check_json(p.request->output, g);
    if (!checked || !checked->dag) {
      log_event(log_level::error, "recovery.resume_failed", "a request could not be resumed: its plan no longer passes the checks",
                boost::json::object{{"request_id", ctx.request_id},
                                    {"reason", checked ? std::string("not a plan") : checked.error().message}});
      actors::request_state failed = *p.request;
      failed.status = std::string(request_status_name(request_status::failed));
      failed.updated_at = format_timestamp(rt->time->now().utc);
      caf::anon_send(rt->store, actors::state_atom::value, std::move(failed));
      continue;
    }
    auto plan = std::make_shared<const actors::checked_output>(std::move(checked).value());
    ctx.output = std::shared_ptr<const prolex_output>(plan, &plan->output);
    auto sup = actors::spawn_plan_supervisor(*system, actors::plan_parts_of(rt));
    rt->requests.add(ctx.request_id, sup);
    caf::anon_send(sup, actors::recover_atom::value, std::move(ctx), actors::checked_plan(plan), std::move(p));
  }
}

engine::engine(engine_options options) : impl_(std::make_unique<impl>()) {
  auto& im = *impl_;
  opex_config cfg;
  if (options.config) {
    cfg = std::move(*options.config);
  } else {
    auto loaded = load_config(options.config_path);
    if (!loaded)
      throw std::runtime_error(loaded.error().message);
    cfg = std::move(loaded).value();
  }
  if (auto bad = check_configuration(cfg))
    throw engine_error(bad);
  connectors::route_targets(cfg);
  im.database = options.database.empty() ? database_path(cfg) : options.database;

  auto rt = std::make_shared<actors::runtime>();
  rt->config = std::move(cfg);
  rt->schemas = schema_registry::with_embedded();
  load_payload_schemas(rt->config, *rt->schemas);
  rt->time = options.time ? options.time : make_system_clock();
  try {
    rt->masking = policies::masking_rules(rt->config.masked_keys, rt->config.masked_patterns, rt->config.mask_value_shapes);
  } catch (const std::invalid_argument& e) {
    throw std::runtime_error(e.what());
  }
  rt->jitter_seed = (static_cast<std::uint64_t>(std::random_device{}()) << 32) ^ std::random_device{}();
  im.read_only = options.read_only;
  rt->read_only = options.read_only;
  if (!options.read_only) {
    // One writer per database: taken before anything runs, held until shutdown.
    auto lock = connectors::database_lock::acquire(im.database);
    if (!lock)
      throw engine_error(lock.error());
    im.lock = std::move(lock).value();
  }
  rt->kimmy = std::make_unique<actors::kimmy_classifier>(rt->config);
  make_rule_planner(*rt, rt->config);
  rt->proxy = std::make_unique<actors::proxy_checker>(rt->config, *rt->schemas);  // chain checked above

  auto http = add_connectors(*rt, im.database);
  configure_log(rt->config.logging);
  set_log_masker([rules = rt->masking](std::string_view text) { return policies::masked(text, rules); });

  rt->observers.add(make_progress_observer(std::move(options.on_progress)));
  im.metrics = std::make_shared<observers::prometheus_metrics>();
  rt->observers.add(im.metrics);
  im.tracer = make_trace_exporter(rt->config, OPEX_VERSION);
  rt->observers.add(im.tracer);
  for (auto& o : options.observers)
    rt->observers.add(std::move(o));
  im.system_config = std::make_unique<caf::actor_system_config>();
  if (options.worker_threads > 0)
    im.system_config->set("scheduler.max-threads", static_cast<size_t>(options.worker_threads));
  im.system_config->set("logger.console", caf::atom("none"));
  // An idle worker's sleeping polls delay every message sent to it from another thread
  // (store, HTTP, connectors) by up to one sleep: docs/performance.md, "Scheduler polling".
  im.system_config->set("work-stealing.moderate-poll-attempts",
                        static_cast<size_t>(std::max(0, rt->config.execution.scheduler_moderate_poll_attempts)));
  im.system = std::make_unique<caf::actor_system>(*im.system_config);
  rt->approval_secret = approval_secret_of(rt->config, im.database);
  im.rt = rt;
  auto kimmy = actors::spawn_agents(*im.system, rt, im.database);
  if (!kimmy) {
    rt->connectors.clear();
    im.system.reset();
    throw std::runtime_error(kimmy.error().message + ": "
                             + std::string(get_string(kimmy.error().details, "reason").value_or("")));
  }
  im.kimmy = std::move(kimmy).value();
  if (options.read_only)
    return;
  if (options.recover)
    im.recover();
  im.start_sweeper();
  im.start_alerts(std::move(http));
}

engine::~engine() = default;

void engine::shutdown() {
  impl_->shutdown();
}

result<json::array> engine::journal(const journal_query& q) {
  caf::scoped_actor self{*impl_->system};
  result<json::array> out = make_error(error_code::internal_error, "journal query failed");
  self->request(impl_->rt->store, std::chrono::seconds(30), actors::query_atom::value, q)
    .receive([&](std::shared_ptr<const json::array>& rows) { out = *rows; },
             [&](caf::error& err) {
               out = make_error(error_code::internal_error, "journal query failed: " + caf::to_string(err));
             });
  return out;
}

void engine::journal(const journal_query& q, std::function<void(result<json::array>)> done) {
  auto target = impl_->rt->store;
  impl_->system->spawn([target, q, done = std::move(done)](caf::event_based_actor* self) {
    self->request(target, std::chrono::seconds(30), actors::query_atom::value, q)
      .then([done](std::shared_ptr<const json::array>& rows) { done(json::array(*rows)); },
            [done](caf::error& err) {
              done(make_error(error_code::internal_error, "journal query failed: " + caf::to_string(err)));
            });
  });
}

void engine::approvals(const std::string& tenant, const std::string& status,
                       std::function<void(result<json::array>)> done) {
  auto store = impl_->rt->store;
  auto* imp = impl_.get();
  actors::approval_query q{tenant, status, ""};
  impl_->system->spawn([store, q, done = std::move(done), imp](caf::event_based_actor* self) {
    self->request(store, std::chrono::seconds(30), actors::list_atom::value, q)
      .then(
        [done, imp](actors::approval_list& list) {
          json::array out;
          for (const auto& a : list) {
            if (a.status == approval_status::expired)
              imp->notify(a, "");  // expired by this listing: the step is skipped
            out.push_back(approval_json(a));
          }
          done(std::move(out));
        },
        [done](caf::error& err) { done(make_error(error_code::internal_error, "approvals: " + caf::to_string(err))); });
  });
}

result<json::array> engine::approvals(const std::string& tenant, const std::string& status) {
  std::promise<result<json::array>> p;
  auto f = p.get_future();
  approvals(tenant, status, [&p](result<json::array> r) { p.set_value(std::move(r)); });
  return f.get();
}

void engine::decide(approval_decision_request d, std::function<void(result<json::object>)> done) {
  if (impl_->read_only || impl_->stopped) {
    done(make_error(error_code::unavailable, "this engine does not execute: it cannot decide approvals",
                    json::object{{"approval_id", d.approval_id}}));
    return;
  }
  actors::approval_decision msg;
  msg.approval_id = std::move(d.approval_id);
  msg.tenant = std::move(d.tenant);
  msg.approve = d.approve;
  msg.decided_by = std::move(d.decided_by);
  msg.confirmation_code = std::move(d.confirmation_code);
  msg.comment = std::move(d.comment);
  auto store = impl_->rt->store;
  auto* imp = impl_.get();
  impl_->system->spawn([store, msg, done = std::move(done), imp](caf::event_based_actor* self) {
    self->request(store, std::chrono::seconds(30), actors::decide_atom::value, msg)
      .then(
        [done, imp](actors::approval_reply& reply) {
          if (reply.error) {
            if (reply.approval && reply.approval->status == approval_status::expired)
              imp->notify(*reply.approval, "");
            done(std::move(reply.error));
            return;
          }
          imp->notify(*reply.approval, reply.code);
          done(approval_json(*reply.approval));
        },
        [done](caf::error& err) { done(make_error(error_code::internal_error, "decide: " + caf::to_string(err))); });
  });
}

result<json::object> engine::decide(approval_decision_request d) {
  std::promise<result<json::object>> p;
  auto f = p.get_future();
  decide(std::move(d), [&p](result<json::object> r) { p.set_value(std::move(r)); });
  return f.get();
}

result<std::string> engine::approval_code(const std::string& approval_id) {
  auto list = approvals("", "");
  if (!list)
    return list.error();
  for (const auto& v : *list) {
    const auto& a = v.as_object();
    if (a.at("id").as_string() != approval_id)
      continue;
    if (a.at("status") != "pending")
      return make_error(error_code::conflict, "approval " + approval_id + " is " + std::string(a.at("status").as_string()),
                        json::object{{"approval_id", approval_id}});
    return policies::confirmation_code(impl_->rt->approval_secret, approval_id, a.at("request_id").as_string(),
                                       a.at("tool").as_string(), a.at("payload_digest").as_string(),
                                       a.at("expires_at").as_string());
  }
  return make_error(error_code::not_found, "no approval " + approval_id, json::object{{"approval_id", approval_id}});
}

std::size_t engine::expire_approvals() {
  caf::scoped_actor self{*impl_->system};
  actors::approval_list expired;
  self->request(impl_->rt->store, std::chrono::seconds(30), actors::expire_atom::value)
    .receive([&](actors::approval_list& l) { expired = std::move(l); }, [](caf::error&) {});
  for (const auto& a : expired)
    impl_->notify(a, "");
  return expired.size();
}

void engine::request_state(const std::string& request_id, const std::string& tenant,
                           std::function<void(result<json::object>)> done) {
  auto store = impl_->rt->store;
  actors::request_lookup q{request_id, tenant};
  impl_->system->spawn([store, q, done = std::move(done)](caf::event_based_actor* self) {
    self->request(store, std::chrono::seconds(30), actors::get_atom::value, q)
      .then(
        [done, q](actors::stored_plan& p) {
          if (!p.request) {
            done(make_error(error_code::not_found, "no request " + q.request_id, json::object{{"request_id", q.request_id}}));
            return;
          }
          const auto& r = *p.request;
          json::array steps;
          for (const auto& s : p.steps)
            steps.push_back(json::object{{"step", s.step},
                                         {"tool", s.tool},
                                         {"status", s.status},
                                         {"data", s.data},
                                         {"error", s.error},
                                         {"attempts", s.attempts},
                                         {"updated_at", s.updated_at}});
          done(json::object{{"request", json::object{{"id", r.id},
                                                     {"tenant", r.tenant},
                                                     {"user_id", r.user_id},
                                                     {"status", r.status},
                                                     {"output", r.output},
                                                     {"result", r.result},
                                                     {"created_at", r.created_at},
                                                     {"updated_at", r.updated_at}}},
                            {"steps", std::move(steps)}});
        },
        [done](caf::error& err) { done(make_error(error_code::internal_error, "request: " + caf::to_string(err))); });
  });
}

result<json::object> engine::request_state(const std::string& request_id, const std::string& tenant) {
  std::promise<result<json::object>> p;
  auto f = p.get_future();
  request_state(request_id, tenant, [&p](result<json::object> r) { p.set_value(std::move(r)); });
  return f.get();
}

result<json::object> engine::wait(const std::string& request_id, std::chrono::milliseconds timeout) {
  auto p = std::make_shared<std::promise<json::object>>();
  auto f = p->get_future();
  auto fired = std::make_shared<std::atomic<bool>>(false);
  impl_->rt->completions.watch(request_id, [p, fired](const request_result& r) {
    if (!fired->exchange(true))
      p->set_value(to_json(r));
  });
  // It may have ended already, or never have run in this engine.
  if (!impl_->rt->requests.find(request_id)) {
    auto state = request_state(request_id, "");
    if (!state)
      return state.error();
    const auto& req = state->at("request").as_object();
    const auto status = get_string(req, "status").value_or("");
    if (req.at("result").is_object() && status != request_status_name(request_status::awaiting_approval) &&
        status != actors::request_state::running_status)
      return req.at("result").as_object();
  }
  if (f.wait_for(timeout) != std::future_status::ready)
    return make_error(error_code::timeout, "request " + request_id + " is still running",
                      json::object{{"request_id", request_id}, {"timeout_ms", timeout.count()}});
  return f.get();
}

bool engine::cancel(const std::string& request_id) {
  auto supervisor = impl_->rt->requests.find(request_id);
  if (!supervisor)
    return false;
  caf::anon_send(supervisor, actors::cancel_atom::value);
  return true;
}

observers::prometheus_metrics& engine::metrics() const {
  return *impl_->metrics;
}

std::vector<breaker_info> engine::breakers() const {
  std::vector<breaker_info> out;
  for (const auto& s : impl_->rt->breakers->snapshot())
    out.push_back({s.target, std::string(policies::breaker_state_name(s.state)), s.failure_rate, s.opened,
                   s.half_opened, s.closed, s.rejected});
  return out;
}

void engine::flush_journal() {
  caf::scoped_actor self{*impl_->system};
  self->request(impl_->rt->store, std::chrono::seconds(30), actors::flush_atom::value)
    .receive([](bool) {}, [](caf::error&) {});
}

const opex_config& engine::configuration() const noexcept {
  return impl_->rt->config;
}

const std::string& engine::database() const noexcept {
  return impl_->database;
}

const clock& engine::time() const noexcept {
  return *impl_->rt->time;
}

} // namespace opex

namespace opex {

json::array engine::mcp_servers() const {
  auto it = impl_->rt->connectors.find("mcp_tool");
  if (it == impl_->rt->connectors.end())
    return {};
  return static_cast<const connectors::mcp_connector&>(*it->second).status();
}

void engine::mcp_tools(const std::string& server, std::chrono::milliseconds timeout,
                       std::function<void(result<json::array>)> done) {
  auto it = impl_->rt->connectors.find("mcp_tool");
  if (it == impl_->rt->connectors.end())
    return done(make_error(error_code::connector_unavailable, "no MCP server is configured (mcp.servers)",
                           json::object{{"server", server}}));
  static_cast<connectors::mcp_connector&>(*it->second)
    .list_tools(server, timeout, [done = std::move(done)](result<std::vector<connectors::mcp::tool_info>> r) {
      if (!r)
        return done(std::move(r).error());
      json::array out;
      for (const auto& t : *r)
        out.emplace_back(t.to_json());
      done(std::move(out));
    });
}

result<json::array> engine::mcp_tools(const std::string& server, std::chrono::milliseconds timeout) {
  auto p = std::make_shared<std::promise<result<json::array>>>();
  auto f = p->get_future();
  mcp_tools(server, timeout, [p](result<json::array> r) { p->set_value(std::move(r)); });
  return f.get();
}

} // namespace opex
