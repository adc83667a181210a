// opex::engine: configuration, target resolution, connectors and the actor system.
#include "opex/engine.hpp"

#include "agents.hpp"

#include "opex/connectors/builtin_connector.hpp"
#include "opex/connectors/http_client.hpp"
#include "opex/connectors/webhook_connector.hpp"
#include "opex/ids.hpp"
#include "opex/json_util.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include <filesystem>
#include <stdexcept>

namespace opex {

namespace json = boost::json;
namespace fs = std::filesystem;

namespace {

/// TASK_CREATE -> task-create: the webhook path used for builtin tools in webhook mode.
std::string kebab(std::string_view id) {
  std::string out;
  for (char c : id)
    out.push_back(c == '_' ? '-' : static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  return out;
}

/// Applies `targets:` of opex.yml to every tool (DESIGN.md §7; docs/configuration.md).
void resolve_targets(opex_config& cfg) {
  const auto& t = cfg.targets;
  for (auto& tool : cfg.catalogue.mutable_tools()) {
    if (auto o = t.overrides.find(tool.id); o != t.overrides.end()) {
      tool.target = o->second;
      continue;
    }
    if (t.mode == "builtin") {
      auto name = connectors::builtin_connector::builtin_for_tool(tool.id);
      if (!name.empty() && tool.target.type != target_type::builtin) {
        tool.target = tool_target{};
        tool.target.type = target_type::builtin;
        tool.target.name = std::string(name);
      }
    } else if (t.mode == "webhook") {
      if (tool.target.type == target_type::webhook) {
        auto url = connectors::parse_url(tool.target.url);
        tool.target.url = t.webhook_base_url + (url ? url->target : "/webhook/" + kebab(tool.id));
      } else if (tool.target.type == target_type::builtin && tool.target.name != "noop") {
        tool.target = tool_target{};
        tool.target.type = target_type::webhook;
        tool.target.url = t.webhook_base_url + "/webhook/" + kebab(tool.id);
      }
    }
  }
}

/// Loads the payload schemas the catalogue names that opex does not embed, from the
/// catalogue's folder or its parents (the reference layout: rag/tools/tools.yml next to
/// schemas/payloads/). Throws when one cannot be found.
void load_payload_schemas(const opex_config& cfg, schema_registry& schemas) {
  for (const auto& tool : cfg.catalogue.tools()) {
    if (tool.payload_schema.empty() || schemas.contains(tool.payload_schema))
      continue;
    bool loaded = false;
    for (fs::path dir = cfg.catalogue.origin_dir(); !dir.empty(); dir = dir.parent_path()) {
      auto candidate = dir / tool.payload_schema;
      if (fs::exists(candidate)) {
        auto added = schemas.add_file(tool.payload_schema, candidate.string());
        if (!added)
          throw std::runtime_error("payload schema of " + tool.id + ": " + added.error().message);
        loaded = true;
        break;
      }
      if (dir == dir.root_path())
        break;
    }
    if (!loaded)
      throw std::runtime_error("payload schema " + tool.payload_schema + " of tool " + tool.id
                               + " is neither embedded nor found next to the catalogue");
  }
}

request_result immediate_error(const std::string& request_id, error_info err, const clock& time) {
  request_result r;
  r.request_id = request_id;
  r.status = request_status::rejected;
  r.error = std::move(err);
  r.error_timestamp = format_timestamp(time.now().utc);
  return r;
}

} // namespace

struct engine::impl {
  std::shared_ptr<actors::runtime> rt;
  std::string database;
  std::shared_ptr<const actors::progress_callback> progress;
  std::unique_ptr<caf::actor_system_config> system_config;
  std::unique_ptr<caf::actor_system> system;
  actors::agent_actor kimmy;

  ~impl() {
    if (!system)
      return;
    if (rt->journal) {
      caf::scoped_actor self{*system};
      self->request(rt->journal, std::chrono::seconds(30), actors::flush_atom::value)
        .receive([](bool) {}, [](caf::error&) {});
    }
    if (kimmy)
      caf::anon_send_exit(kimmy, caf::exit_reason::user_shutdown);
    kimmy = nullptr;
    actors::stop_agents(*system, *rt);
    system->await_all_actors_done();
    rt->connectors.clear();  // joins connector threads while the system still exists
    system.reset();
  }

  /// A request context from the submission options, or nullopt after answering `done` with
  /// VALIDATION_ERROR when the given request id is not a UUID.
  std::optional<actors::request_context> start(submit_options& opts, const result_callback& done) {
    actors::request_context ctx;
    ctx.request_id = opts.request_id.empty() ? make_uuid_v4() : opts.request_id;
    if (!is_uuid(ctx.request_id)) {
      done(immediate_error(ctx.request_id,
                           make_error(error_code::validation_error, "request_id must be a UUID",
                                      json::object{{"request_id", ctx.request_id}}),
                           *rt->time));
      return std::nullopt;
    }
    ctx.user_id = std::move(opts.user_id);
    ctx.source = opts.source.empty() ? "api" : std::move(opts.source);
    return ctx;
  }

  void submit(actors::request_context ctx, actors::entry_point entry, result_callback done) {
    ctx.entry = entry;
    ctx.received = std::chrono::steady_clock::now();
    ctx.progress = progress;
    if (ctx.user_id.empty())
      ctx.user_id = rt->config.default_user_id;
    actors::agent_actor target = entry == actors::entry_point::kimmy    ? kimmy
                                 : entry == actors::entry_point::prolex ? rt->prolex
                                                                        : rt->proxy_master;
    // The supervisor enforces max_execution_time_minutes itself and answers timed_out; this
    // bound only catches a chain that never answers.
    auto timeout = std::chrono::minutes(std::max(1, rt->config.system.max_execution_time_minutes) + 1);
    auto runtime = rt;
    system->spawn([ctx = std::move(ctx), target, timeout, runtime, done = std::move(done)](
                    caf::event_based_actor* self) mutable {
      auto request_id = ctx.request_id;
      self->request(target, timeout, actors::run_atom::value, std::move(ctx))
        .then(
          [done](actors::request_outcome& outcome) { done(std::move(*outcome.result)); },
          [done, request_id, runtime, timeout](caf::error& err) {
            error_info e =
              err == caf::sec::request_timeout
                ? make_error(error_code::timeout, "the request exceeded max_execution_time_minutes",
                             json::object{{"scope", "request"},
                                          {"max_execution_time_minutes", timeout.count()}})
                : make_error(error_code::internal_error, "request failed: " + caf::to_string(err));
            auto r = immediate_error(request_id, std::move(e), *runtime->time);
            r.status = err == caf::sec::request_timeout ? request_status::timed_out : request_status::failed;
            done(std::move(r));
          });
    });
  }
};

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
  resolve_targets(cfg);
  im.database = options.database.empty() ? database_path(cfg) : options.database;

  auto rt = std::make_shared<actors::runtime>();
  rt->config = std::move(cfg);
  rt->schemas = schema_registry::with_embedded();
  load_payload_schemas(rt->config, *rt->schemas);
  rt->time = options.time ? options.time : make_system_clock();
  rt->masking = policies::masking_rules(rt->config.masked_keys);
  rt->kimmy = std::make_unique<actors::kimmy_classifier>(rt->config);
  rt->planner = std::make_unique<actors::rule_planner>(rt->config);
  rt->proxy = std::make_unique<actors::proxy_checker>(rt->config, *rt->schemas);

  connectors::http_client_options http_opts;
  http_opts.ca_file = rt->config.targets.ca_file;
  http_opts.verify_tls = rt->config.targets.verify_tls;
  auto http = std::make_shared<connectors::http_client>(http_opts);
  rt->connectors.emplace("webhook", std::make_shared<connectors::webhook_connector>(http));
  connectors::builtin_options builtin;
  builtin.database = im.database;
  builtin.time = rt->time;
  actors::runtime* raw_rt = rt.get();
  builtin.journal_sink = [raw_rt](journal_entry e) {
    if (raw_rt->journal)
      caf::anon_send(raw_rt->journal, actors::journal_atom::value, std::move(e));
  };
  rt->connectors.emplace("builtin", std::make_shared<connectors::builtin_connector>(std::move(builtin)));

  if (options.on_progress)
    im.progress = std::make_shared<const actors::progress_callback>(std::move(options.on_progress));
  im.system_config = std::make_unique<caf::actor_system_config>();
  if (options.worker_threads > 0)
    im.system_config->set("scheduler.max-threads", static_cast<size_t>(options.worker_threads));
  im.system_config->set("logger.console", caf::atom("none"));
  im.system = std::make_unique<caf::actor_system>(*im.system_config);
  im.rt = rt;
  auto kimmy = actors::spawn_agents(*im.system, rt, im.database);
  if (!kimmy) {
    rt->connectors.clear();
    im.system.reset();
    throw std::runtime_error(kimmy.error().message + ": "
                             + std::string(get_string(kimmy.error().details, "reason").value_or("")));
  }
  im.kimmy = std::move(kimmy).value();
}

engine::~engine() = default;

void engine::submit_text(std::string text, submit_options opts, result_callback done) {
  auto ctx = impl_->start(opts, done);
  if (!ctx)
    return;
  if (text.find_first_not_of(" \t\r\n") == std::string::npos) {
    done(immediate_error(ctx->request_id,
                         make_error(error_code::validation_error, "the request text is empty",
                                    json::object{{"field", "text"}}),
                         *impl_->rt->time));
    return;
  }
  ctx->text = std::make_shared<const std::string>(std::move(text));
  impl_->submit(std::move(*ctx), actors::entry_point::kimmy, std::move(done));
}

void engine::submit_payload(json::value kimmy_payload, submit_options opts, result_callback done) {
  // The payload's own request_id wins when it is a UUID; the schema check comes in Prolex.
  if (const auto* obj = kimmy_payload.if_object())
    if (auto id = get_string(*obj, "request_id"); id && is_uuid(*id))
      opts.request_id = std::string(*id);
  auto ctx = impl_->start(opts, done);
  if (!ctx)
    return;
  ctx->raw = std::make_shared<const json::value>(std::move(kimmy_payload));
  impl_->submit(std::move(*ctx), actors::entry_point::prolex, std::move(done));
}

void engine::submit_output(json::value prolex_output, submit_options opts, result_callback done) {
  auto ctx = impl_->start(opts, done);
  if (!ctx)
    return;
  ctx->planned_by = "client";
  ctx->raw = std::make_shared<const json::value>(std::move(prolex_output));
  impl_->submit(std::move(*ctx), actors::entry_point::proxy, std::move(done));
}

namespace {

template <class Submit>
std::future<request_result> as_future(Submit&& submit) {
  auto promise = std::make_shared<std::promise<request_result>>();
  auto future = promise->get_future();
  submit([promise](request_result r) { promise->set_value(std::move(r)); });
  return future;
}

} // namespace

std::future<request_result> engine::submit_text(std::string text, submit_options opts) {
  return as_future([&](result_callback cb) { submit_text(std::move(text), std::move(opts), std::move(cb)); });
}

std::future<request_result> engine::submit_payload(json::value payload, submit_options opts) {
  return as_future([&](result_callback cb) { submit_payload(std::move(payload), std::move(opts), std::move(cb)); });
}

std::future<request_result> engine::submit_output(json::value output, submit_options opts) {
  return as_future([&](result_callback cb) { submit_output(std::move(output), std::move(opts), std::move(cb)); });
}

result<json::array> engine::journal(const journal_query& q) {
  caf::scoped_actor self{*impl_->system};
  result<json::array> out = make_error(error_code::internal_error, "journal query failed");
  self->request(impl_->rt->journal, std::chrono::seconds(30), actors::query_atom::value, q)
    .receive([&](std::shared_ptr<const json::array>& rows) { out = *rows; },
             [&](caf::error& err) {
               out = make_error(error_code::internal_error, "journal query failed: " + caf::to_string(err));
             });
  return out;
}

void engine::journal(const journal_query& q, std::function<void(result<json::array>)> done) {
  auto target = impl_->rt->journal;
  impl_->system->spawn([target, q, done = std::move(done)](caf::event_based_actor* self) {
    self->request(target, std::chrono::seconds(30), actors::query_atom::value, q)
      .then([done](std::shared_ptr<const json::array>& rows) { done(json::array(*rows)); },
            [done](caf::error& err) {
              done(make_error(error_code::internal_error, "journal query failed: " + caf::to_string(err)));
            });
  });
}

bool engine::cancel(const std::string& request_id) {
  auto supervisor = impl_->rt->requests.find(request_id);
  if (!supervisor)
    return false;
  caf::anon_send(supervisor, actors::cancel_atom::value);
  return true;
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
  self->request(impl_->rt->journal, std::chrono::seconds(30), actors::flush_atom::value)
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
