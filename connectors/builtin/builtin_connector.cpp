// Builtin tools: a worker thread (Asio io_context) owns the SQLite local store; noops run inline.
#include "opex/connectors/builtin_connector.hpp"

#include "local_store.hpp"

#include "opex/json_util.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <array>
#include <mutex>
#include <utility>
#include <vector>
#include <thread>

namespace opex::connectors {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

constexpr std::array<std::pair<std::string_view, std::string_view>, 9> tool_builtins{{
  {"TASK_CREATE", "task_create"},
  {"TODO_CREATE", "task_create"},
  {"TASK_UPDATE", "task_update"},
  {"CAL_EVENT_CREATE", "calendar_event_create"},
  {"DOC_CREATE_NOTE", "note_create"},
  {"DOC_UPDATE", "doc_update"},
  {"LOG_APPEND", "log_append"},
  {"HEALTHCHECK_RUN", "healthcheck"},
  {"WEEKLY_SUMMARY", "journal_summary"},
}};

constexpr std::array<std::string_view, 10> builtin_names{
  "task_create", "task_update", "calendar_event_create", "note_create",     "doc_update",
  "log_append",  "healthcheck", "journal_summary",       "noop",            "echo"};

call_outcome noop_outcome(const json::object& payload) {
  call_outcome out;
  if (auto code = get_string(payload, "fail_with")) {
    auto parsed = parse_error_code(*code);
    json::object details{{"requested", *code}};
    if (*code == "HTTP_ERROR" || !parsed)
      details["status"] = 500;
    out.error = make_error(parsed.value_or(error_code::tool_execution_failed),
                           "NOOP failed as asked (fail_with " + std::string(*code) + ")",
                           std::move(details));
    return out;
  }
  out.ok = true;
  json::object data;
  if (const auto* echo = get_member(payload, "echo"))
    data["echo"] = *echo;
  out.data = std::move(data);
  return out;
}

} // namespace

/// The local store's own file next to the journal's: opex.db -> opex-items.db.
std::string items_database(const std::string& database) {
  if (database == ":memory:" || database.empty())
    return ":memory:";
  if (database.ends_with(".db"))
    return database.substr(0, database.size() - 3) + "-items.db";
  return database + "-items";
}

/// A local store operation waiting for the worker.
struct store_call {
  std::string name;
  json::object payload;
  call_context ctx;
  call_completion done;
};

struct builtin_connector::impl {
  builtin_options options;
  std::mutex queue_mutex;
  std::vector<store_call> queue;  ///< bounded by the engine's admission (in-flight requests)
  bool drain_posted = false;
  asio::io_context worker;
  asio::executor_work_guard<asio::io_context::executor_type> guard{worker.get_executor()};
  std::unique_ptr<local_store> store;  // opened lazily on the worker thread
  error_info store_error;
  std::thread thread;

  explicit impl(builtin_options opts) : options(std::move(opts)) {
    thread = std::thread([this] { worker.run(); });
  }

  ~impl() {
    guard.reset();
    worker.stop();
    thread.join();
  }

  local_store* open_store() {
    if (!store && !store_error) {
      auto s = local_store::open(items_database(options.database), options.database, options.checkpoint_pages);
      if (s)
        store = std::move(s).value();
      else
        store_error = s.error();
    }
    return store.get();
  }

  std::string now() const {
    return format_timestamp(options.time->now().utc);
  }

  call_outcome run(local_store& items, const store_call& c) {
    const auto& [name, payload, ctx, _] = c;
    if (name == "task_create")
      return items.once(name, ctx, now(), [&] { return items.task_create(payload, ctx, now()); });
    if (name == "task_update")
      return items.once(name, ctx, now(), [&] { return items.task_update(payload, ctx, now()); });
    if (name == "calendar_event_create")
      return items.once(name, ctx, now(), [&] { return items.event_create(payload, ctx, now()); });
    if (name == "note_create")
      return items.once(name, ctx, now(), [&] { return items.note_create(payload, ctx, now()); });
    if (name == "doc_update")
      return items.once(name, ctx, now(), [&] { return items.doc_update(payload, ctx, now()); });
    if (name == "healthcheck")
      return items.healthcheck();
    if (name == "journal_summary")
      return items.journal_summary(format_timestamp(options.time->now().utc - std::chrono::hours{24 * 7}));
    call_outcome out;
    out.error = make_error(error_code::connector_unavailable, "no local store operation named '" + name + "'",
                           json::object{{"builtin", name}});
    return out;
  }

  /// Every call queued so far in one transaction (group commit: one WAL write and one commit
  /// for all of them, docs/performance.md); outcomes are handed back only after the commit.
  void drain() {
    std::vector<store_call> calls;
    {
      std::lock_guard lock(queue_mutex);
      calls.swap(queue);
      drain_posted = false;
    }
    std::vector<call_outcome> outs(calls.size());
    auto* items = open_store();
    const error_info failed = !items ? store_error : items->in_one_transaction([&] {
      for (std::size_t i = 0; i < calls.size(); ++i)
        outs[i] = run(*items, calls[i]);
    });
    for (std::size_t i = 0; i < calls.size(); ++i) {
      if (failed) {
        outs[i] = call_outcome{};
        outs[i].error = failed;
      }
      calls[i].done(std::move(outs[i]));
    }
  }

  void enqueue(store_call c) {
    bool post = false;
    {
      std::lock_guard lock(queue_mutex);
      queue.push_back(std::move(c));
      post = !std::exchange(drain_posted, true);
    }
    if (post)
      asio::post(worker, [this] { drain(); });
  }
};

builtin_connector::builtin_connector(builtin_options options)
  : impl_(std::make_unique<impl>(std::move(options))) {}

builtin_connector::~builtin_connector() = default;

bool builtin_connector::has_builtin(std::string_view name) noexcept {
  for (auto n : builtin_names)
    if (n == name)
      return true;
  return false;
}

std::string_view builtin_connector::builtin_for_tool(std::string_view tool_id) noexcept {
  if (tool_id == "NOOP")
    return "noop";
  for (const auto& [tool, name] : tool_builtins)
    if (tool == tool_id)
      return name;
  return {};
}

cancel_handle builtin_connector::call(const tool_definition& tool, const json::object& payload,
                                      const call_context& ctx, call_completion done) {
  const std::string name = tool.target.text("name");
  if (name == "noop" || name == "echo") {
    auto delay = get_member(payload, "delay_ms");
    if (delay && delay->is_int64() && delay->get_int64() > 0) {
      auto timer = std::make_shared<asio::steady_timer>(impl_->worker);
      timer->expires_after(std::chrono::milliseconds(delay->get_int64()));
      timer->async_wait([timer, payload, done = std::move(done)](boost::system::error_code ec) {
        if (ec == asio::error::operation_aborted) {
          call_outcome out;
          out.error = make_error(error_code::cancelled, "the call was cancelled");
          done(std::move(out));
          return;
        }
        done(noop_outcome(payload));
      });
      return [this, w = std::weak_ptr(timer)] {
        asio::post(impl_->worker, [w] {
          if (auto t = w.lock())
            t->cancel();
        });
      };
    }
    done(noop_outcome(payload));
    return {};
  }
  if (name == "log_append") {
    journal_entry e;
    e.timestamp = impl_->now();
    e.agent = "system";
    e.action_type = "reporting";
    e.request_id = ctx.request_id;
    e.user_id = ctx.user_id.empty() ? "system" : ctx.user_id;
    e.tool_used = tool.id;
    e.notes = std::string(get_string(payload, "message").value_or(""));
    auto level = std::string(get_string(payload, "level").value_or("info"));
    e.tags = {"log_append", level};
    if (const auto* details = get_member(payload, "details"))
      e.data = details->is_object() ? *details : json::value(json::object{{"value", *details}});
    e.metadata["step"] = ctx.step;
    if (impl_->options.journal_sink)
      impl_->options.journal_sink(std::move(e));
    call_outcome out;
    out.ok = true;
    out.data = json::object{{"logged", true}, {"level", level}};
    done(std::move(out));
    return {};
  }
  if (!has_builtin(name)) {
    call_outcome out;
    out.error = make_error(error_code::connector_unavailable, "no builtin named '" + name + "'",
                           json::object{{"tool", tool.id}, {"builtin", name}});
    done(std::move(out));
    return {};
  }
  impl_->enqueue(store_call{name, payload, ctx, std::move(done)});
  return {};  // local store operations are short: not cancellable
}

} // namespace opex::connectors
