// Builtin tools: a worker thread (Asio io_context) owns the SQLite local store; noops run inline.
#include "opex/connectors/builtin_connector.hpp"

#include "builtin_tool.hpp"
#include "opex/connectors/local_store.hpp"

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
  const builtin_tool* builtin;
  const tool_definition* tool;  ///< the catalogue's, which outlives the call
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
      opex_config::storage_settings storage;
      storage.backend = options.backend;
      auto s = open_local_store(storage, items_database(options.database), options.database, options.checkpoint_pages);
      if (s)
        store = std::move(s).value();
      else
        store_error = s.error();
    }
    return store.get();
  }

  call_outcome run(local_store& items, const store_call& c) {
    const builtin_call call{*c.tool, c.payload, c.ctx, options, &items};
    if (c.builtin->runs == builtin_runs::store_once)
      return items.once(std::string(c.builtin->name), c.ctx, call.now(), [&] { return c.builtin->run(call); });
    return c.builtin->run(call);
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

  /// Runs an inline builtin after `delay` on the worker's timer (not a sleep); the handle
  /// cancels it (CANCELLED).
  cancel_handle after(std::chrono::milliseconds delay, const builtin_tool* builtin, const tool_definition* tool,
                      json::object payload, call_context ctx, call_completion done) {
    auto timer = std::make_shared<asio::steady_timer>(worker);
    timer->expires_after(delay);
    timer->async_wait([this, timer, builtin, tool, payload = std::move(payload),
                       ctx = std::move(ctx), done = std::move(done)](boost::system::error_code ec) {
      if (ec == asio::error::operation_aborted) {
        call_outcome out;
        out.error = make_error(error_code::cancelled, "the call was cancelled");
        done(std::move(out));
        return;
      }
      done(builtin->run(builtin_call{*tool, payload, ctx, options}));
    });
    return [this, w = std::weak_ptr(timer)] {
      asio::post(worker, [w] {
        if (auto t = w.lock())
          t->cancel();
      });
    };
  }
};

builtin_connector::builtin_connector(builtin_options options)
  : impl_(std::make_unique<impl>(std::move(options))) {}

builtin_connector::~builtin_connector() = default;

bool builtin_connector::has_builtin(std::string_view name) noexcept {
  return find_builtin(name) != nullptr;
}

std::string_view builtin_connector::builtin_for_tool(std::string_view tool_id) noexcept {
  for (const auto& b : builtin_tools())
    for (auto id : b.tools)
      if (!id.empty() && id == tool_id)
        return b.name;
  return {};
}

cancel_handle builtin_connector::call(const tool_definition& tool, const json::object& payload,
                                      const call_context& ctx, call_completion done) {
  const std::string name = tool.target.text("name");
  const auto* builtin = find_builtin(name);
  if (!builtin) {
    call_outcome out;
    out.error = make_error(error_code::connector_unavailable, "no builtin named '" + name + "'",
                           json::object{{"tool", tool.id}, {"builtin", name}});
    done(std::move(out));
    return {};
  }
  if (builtin->runs != builtin_runs::inline_call) {
    impl_->enqueue(store_call{builtin, &tool, payload, ctx, std::move(done)});
    return {};  // local store operations are short: not cancellable
  }
  auto delay = builtin->honours_delay_ms ? get_member(payload, "delay_ms") : nullptr;
  if (delay && delay->is_int64() && delay->get_int64() > 0)
    return impl_->after(std::chrono::milliseconds(delay->get_int64()), builtin, &tool, payload, ctx, std::move(done));
  done(builtin->run(builtin_call{tool, payload, ctx, impl_->options}));
  return {};
}

} // namespace opex::connectors
