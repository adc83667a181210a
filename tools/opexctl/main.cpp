// opexctl: the command line for test authors and operators — ask (full pipeline in process),
// run (a ProlexOutput file), validate (contracts and configs), journal (read entries).
#include "opex/engine.hpp"
#include "opex/ids.hpp"
#include "opex/json_util.hpp"
#include "opex/schema_registry.hpp"

#include <CLI/CLI.hpp>
#include <boost/json/serialize.hpp>

#include <unistd.h>

#include <atomic>
#include <csignal>
#include <functional>
#include <iomanip>
#include <iostream>
#include <mutex>
#include <sstream>
#include <thread>

namespace json = boost::json;
using namespace opex;

namespace {

struct common_options {
  std::string config;
  std::string database;
  std::string now;
  bool json_output = false;
  bool quiet = false;
  bool progress = false;
};

std::shared_ptr<const opex::clock> make_clock(const std::string& now) {
  if (now.empty())
    return make_system_clock();
  auto z = parse_iso8601(now);
  if (!z)
    throw CLI::ValidationError("--now", "expects ISO 8601, e.g. 2026-11-18T09:00:00+01:00");
  return make_fixed_clock(*z, true);
}

void print_progress(const progress_event& ev) {
  static std::mutex m;
  std::lock_guard lock(m);
  if (ev.kind == progress_kind::breaker) {
    std::cerr << "  ⚡ circuit breaker " << ev.target << ": " << ev.message << " (during step " << ev.step
              << " " << ev.tool << ")\n";
    return;
  }
  const char* mark = "·";
  switch (ev.status) {
    case step_status::running: mark = "▸"; break;
    case step_status::succeeded: mark = "✓"; break;
    case step_status::skipped: mark = "↷"; break;
    case step_status::awaiting_approval: mark = "⏸"; break;
    default: mark = "✗"; break;
  }
  std::cerr << "  " << mark << " step " << ev.step << " " << ev.tool << " " << step_status_name(ev.status);
  if (ev.status == step_status::running)
    std::cerr << " (attempt " << ev.attempt << ")";
  else if (ev.status != step_status::skipped)
    std::cerr << " after " << ev.attempt << " attempt(s), " << std::fixed << std::setprecision(1)
              << ev.duration_ms << " ms";
  if (!ev.error_code.empty())
    std::cerr << " [" << ev.error_code << "]";
  if (!ev.message.empty())
    std::cerr << " " << ev.message;
  std::cerr << "\n";
}

/// An engine for one command. Only approve/reject resume the plans waiting in the database
/// (they must run somewhere); other commands leave them to opexd or to the next decision.
/// Commands that only read open the database without its lock, so they work beside a running
/// opexd; the others refuse to start while another engine executes on it (DATABASE_LOCKED).
engine make_engine(const common_options& o, bool recover = false, bool read_only = false) {
  engine_options eo;
  eo.recover = recover;
  eo.read_only = read_only;
  eo.config_path = o.config;
  eo.database = o.database;
  eo.time = make_clock(o.now);
  if ((isatty(STDERR_FILENO) || o.progress) && !o.quiet)  // live progress for a person watching
    eo.on_progress = print_progress;
  return engine(std::move(eo));
}

void print_human(const request_result& r) {
  std::cout << "request " << r.request_id << ": " << request_status_name(r.status) << "\n";
  if (r.kimmy) {
    std::cout << "  kimmy: intent " << r.kimmy->intent << ", " << r.kimmy->complexity << ", confidence "
              << r.kimmy->confidence << ", language " << r.kimmy->language << "\n";
    if (r.decision) {
      std::cout << "         " << (r.decision->handled_directly ? "handled directly" : "escalated to Prolex");
      if (!r.decision->reasons.empty())
        std::cout << " (" << r.decision->reasons.front() << ")";
      std::cout << "\n";
    }
  }
  if (r.output) {
    std::cout << "  " << (r.planned_by.empty() ? "plan" : r.planned_by) << ": "
              << output_type_name(r.output->type) << "\n";
    if (r.output->type == output_type::answer)
      std::cout << "  answer: " << r.output->content << "\n";
    for (const auto& q : r.output->questions)
      std::cout << "  question: " << q << "\n";
  }
  for (const auto& s : r.steps) {
    std::cout << "  step " << s.step << " " << s.tool << ": " << step_status_name(s.status) << " ("
              << s.attempts.size() << " attempt(s), " << std::fixed << std::setprecision(1) << s.duration_ms
              << " ms)";
    if (s.error)
      std::cout << " " << error_code_name(s.error.code) << ": " << s.error.message;
    std::cout << "\n";
    if (!s.data.is_null())
      std::cout << "    data: " << json::serialize(s.data) << "\n";
  }
  if (r.error)
    std::cout << "  error: " << error_code_name(r.error.code) << ": " << r.error.message << "\n"
              << "  details: " << json::serialize(r.error.details) << "\n";
}

/// Turns SIGINT into a callback while a request runs (signals blocked in every thread, one
/// thread waits for them); a second Ctrl-C after the request ended exits as usual.
class interrupt_watch {
public:
  /// Blocks SIGINT in the calling thread, and so in every thread started after it (call it
  /// before the engine starts its threads).
  static void block_sigint() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
  }

  explicit interrupt_watch(std::function<void()> on_interrupt) : on_interrupt_(std::move(on_interrupt)) {
    thread_ = std::thread([this] {
      sigset_t set;
      sigemptyset(&set);
      sigaddset(&set, SIGINT);
      timespec tick{0, 100'000'000};
      while (!stopped_) {
        if (sigtimedwait(&set, nullptr, &tick) == SIGINT)
          on_interrupt_();
      }
    });
  }
  void stop() {
    stopped_ = true;
    if (thread_.joinable())
      thread_.join();
  }
  ~interrupt_watch() { stop(); }

private:
  std::function<void()> on_interrupt_;
  std::atomic<bool> stopped_{false};
  std::thread thread_;
};

int finish(const request_result& r, const common_options& o) {
  if (o.json_output)
    std::cout << json::serialize(to_json(r)) << std::endl;
  else
    print_human(r);
  if (r.status == request_status::awaiting_approval && !o.json_output)
    std::cout << "  waiting for approval: `opexctl approvals` lists it, `opexctl approve ID` runs it\n";
  return r.status == request_status::succeeded ? 0 : r.status == request_status::awaiting_approval ? 3 : 1;
}

int print_error(const error_info& err, const common_options& o) {
  if (o.json_output) {
    std::cout << json::serialize(to_error_json(err, "", format_timestamp(std::chrono::system_clock::now())))
              << std::endl;
  } else {
    std::cerr << "opexctl: " << err.message << "\n";
    if (const auto* errors = err.details.if_contains("errors"); errors && errors->is_array())
      for (const auto& e : errors->as_array())
        std::cerr << "  " << (e.is_string() ? std::string(e.as_string()) : json::serialize(e)) << "\n";
  }
  return 2;
}

int cmd_validate(const std::string& file, std::string kind, const common_options& o) {
  bool yaml = file.ends_with(".yml") || file.ends_with(".yaml");
  if (yaml) {
    auto doc = read_yaml_file(file);
    if (!doc)
      return print_error(doc.error(), o) - 1;
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
      return print_error(err, o) - 1;
    if (o.json_output)
      std::cout << json::serialize(json::object{{"valid", true}, {"kind", kind}, {"file", file}}) << std::endl;
    else
      std::cout << file << ": valid " << kind << "\n";
    return 0;
  }
  auto doc = read_json_file(file);
  if (!doc)
    return print_error(doc.error(), o) - 1;
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
    return 1;
  }
  if (o.json_output)
    std::cout << json::serialize(json::object{{"valid", true}, {"kind", kind}, {"file", file}}) << std::endl;
  else
    std::cout << file << ": valid " << kind << "\n";
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"opexctl: run and inspect opex requests"};
  app.require_subcommand(1);
  app.fallthrough();  // global options may follow the subcommand: `opexctl ask "..." --json`
  common_options o;
  app.add_option("--config,-c", o.config, "opex.yml (default: the built-in configuration)");
  app.add_option("--database", o.database, "SQLite database (default: storage.database or the data dir)");
  app.add_option("--now", o.now, "Fix the clock for relative dates (ISO 8601)");
  app.add_flag("--json", o.json_output, "Print one JSON object on stdout");
  app.add_flag("--quiet,-q", o.quiet, "No live progress on stderr");
  app.add_flag("--progress", o.progress, "Live progress on stderr even when it is not a terminal");

  std::string text, source = "api", user;
  auto* ask = app.add_subcommand("ask", "Run TEXT through Kimmy, Prolex, the Proxy Master and the executors");
  ask->add_option("text", text, "The request")->required();
  ask->add_option("--source", source, "chat|whatsapp|telegram|email|api|other");
  ask->add_option("--user", user, "User id");

  std::string plan_file;
  auto* run = app.add_subcommand("run", "Run a ProlexOutput file through the Proxy Master and the executors");
  run->add_option("plan", plan_file, "ProlexOutput JSON file")->required()->check(CLI::ExistingFile);
  run->add_option("--user", user, "User id");

  std::string validate_file, kind = "auto";
  auto* validate = app.add_subcommand("validate", "Validate a contract (JSON) or a configuration (YAML)");
  validate->add_option("file", validate_file, "File to validate")->required()->check(CLI::ExistingFile);
  validate->add_option("--kind", kind,
                       "auto|kimmy_payload|prolex_output|journal_entry|error|config|catalogue|system|autonomy");

  std::string approval_id, code, decided_by, comment, status_filter, tenant;
  auto* approvals = app.add_subcommand("approvals", "List approvals (with the confirmation codes of pending ones)");
  approvals->add_option("--status", status_filter, "pending|approved|rejected|expired (default: all)");
  approvals->add_option("--tenant", tenant, "Only this tenant");
  auto* approve = app.add_subcommand("approve", "Approve a pending approval; the parked step runs");
  auto* reject = app.add_subcommand("reject", "Reject a pending approval; the parked step is skipped");
  for (auto* sub : {approve, reject}) {
    sub->add_option("id", approval_id, "Approval id")->required();
    sub->add_option("--by", decided_by, "Who decides (journaled; default $USER)");
    sub->add_option("--comment", comment, "Why");
  }
  approve->add_option("--code", code, "Confirmation code, when the approval requires one");

  std::string shown_request;
  auto* request_cmd = app.add_subcommand("request", "Show a request's stored state and result");
  request_cmd->add_option("id", shown_request, "Request id")->required();

  std::string request_id, agent;
  std::size_t limit = 200;
  auto* journal = app.add_subcommand("journal", "Print journal entries");
  journal->add_option("--request-id", request_id, "Only this request");
  journal->add_option("--agent", agent, "Only this agent (kimmy, prolex, proxy, opex, system)");
  journal->add_option("--limit", limit, "At most N entries (newest)");

  std::string mcp_server;
  int mcp_timeout_ms = 30000;
  auto* mcp = app.add_subcommand("mcp", "Inspect the configured MCP servers");
  mcp->require_subcommand(1);
  auto* mcp_servers = mcp->add_subcommand("servers", "Start every configured MCP server and show its state");
  auto* mcp_tools = mcp->add_subcommand("tools", "List the tools an MCP server offers (starting it)");
  mcp_tools->add_option("server", mcp_server, "Server name under mcp.servers")->required();
  for (auto* sub : {mcp_servers, mcp_tools})
    sub->add_option("--timeout-ms", mcp_timeout_ms, "How long to wait for the server (ms)");

  CLI11_PARSE(app, argc, argv);
  try {
    if (*validate)
      return cmd_validate(validate_file, kind, o);
    if (*ask) {
      interrupt_watch::block_sigint();
      auto e = make_engine(o);
      submit_options so;
      so.source = source;
      so.user_id = user;
      so.request_id = make_uuid_v7();
      interrupt_watch watch([&e, id = so.request_id] {
        if (e.cancel(id))
          std::cerr << "  ✗ cancelling request " << id << "\n";
      });
      auto r = e.submit_text(text, so).get();
      watch.stop();
      return finish(r, o);
    }
    if (*run) {
      auto doc = read_json_file(plan_file);
      if (!doc)
        return print_error(doc.error(), o);
      interrupt_watch::block_sigint();
      auto e = make_engine(o);
      submit_options so;
      so.user_id = user;
      so.request_id = make_uuid_v7();
      // Ctrl-C cancels the plan: pending steps become cancelled, calls in flight are abandoned.
      interrupt_watch watch([&e, id = so.request_id] {
        if (e.cancel(id))
          std::cerr << "  ✗ cancelling request " << id << "\n";
      });
      auto r = e.submit_output(std::move(doc).value(), so).get();
      watch.stop();
      return finish(r, o);
    }
    if (*approvals) {
      auto e = make_engine(o, false, true);
      auto list = e.approvals(tenant, status_filter);
      if (!list)
        return print_error(list.error(), o);
      for (auto& v : *list) {  // the operator's console sees the codes; opexd's API never sends them
        auto& a = v.as_object();
        if (a.at("status") == "pending" && a.at("requires_code").as_bool())
          if (auto c = e.approval_code(std::string(a.at("id").as_string())))
            a["confirmation_code"] = *c;
      }
      if (o.json_output) {
        std::cout << json::serialize(json::object{{"approvals", *list}}) << std::endl;
      } else {
        for (const auto& v : *list) {
          const auto& a = v.as_object();
          std::cout << a.at("id").as_string().c_str() << "  " << std::left << std::setw(9)
                    << a.at("status").as_string().c_str() << " " << a.at("tool").as_string().c_str() << " (step "
                    << a.at("step").as_int64() << " of " << a.at("request_id").as_string().c_str() << ", "
                    << a.at("kind").as_string().c_str() << ", tenant " << a.at("tenant").as_string().c_str()
                    << ")\n    " << a.at("reason").as_string().c_str() << "; expires " << a.at("expires_at").as_string().c_str()
                    << "\n";
          if (a.contains("confirmation_code"))
            std::cout << "    confirmation code: " << a.at("confirmation_code").as_string().c_str() << "\n";
        }
      }
      return 0;
    }
    if (*approve || *reject) {
      interrupt_watch::block_sigint();
      auto e = make_engine(o, true);  // resumes the plans waiting in the database
      approval_decision_request d;
      d.approval_id = approval_id;
      d.approve = approve->parsed();
      d.confirmation_code = code;
      d.comment = comment;
      const char* login = std::getenv("USER");
      d.decided_by = !decided_by.empty() ? decided_by : std::string("opexctl:") + (login ? login : "unknown");
      auto decided = e.decide(d);
      if (!decided)
        return print_error(decided.error(), o) - 1;
      auto req = std::string(decided->at("request_id").as_string());
      if (decided->at("kind") != "step") {
        std::cout << (o.json_output ? json::serialize(*decided) : "approval " + approval_id + ": " + std::string(decided->at("status").as_string()))
                  << std::endl;
        return 0;
      }
      // The plan goes on in this process: wait for it to end, then show its result.
      auto minutes = e.configuration().system.max_execution_time_minutes;
      auto final = e.wait(req, std::chrono::minutes(std::max(1, minutes)));
      if (!final)
        return print_error(final.error(), o) - 1;
      if (o.json_output)
        std::cout << json::serialize(*final) << std::endl;
      else
        std::cout << "approval " << approval_id << ": " << decided->at("status").as_string().c_str() << "\nrequest "
                  << req << ": " << final->at("status").as_string().c_str() << "\n";
      return final->at("status") == "succeeded" ? 0 : 1;
    }
    if (*mcp_tools) {
      auto e = make_engine(o);
      auto tools = e.mcp_tools(mcp_server, std::chrono::milliseconds(mcp_timeout_ms));
      if (!tools)
        return print_error(tools.error(), o) - 1;
      if (o.json_output) {
        std::cout << json::serialize(json::object{{"server", mcp_server}, {"tools", *tools}}) << std::endl;
      } else {
        for (const auto& t : *tools)
          std::cout << std::left << std::setw(32) << t.at("name").as_string().c_str() << " "
                    << t.at("description").as_string().c_str() << "\n";
      }
      return 0;
    }
    if (*mcp_servers) {
      auto e = make_engine(o);
      // Listing the tools starts each server: the states then say whether it came up.
      for (const auto& s : e.mcp_servers())
        (void)e.mcp_tools(std::string(s.at("server").as_string()), std::chrono::milliseconds(mcp_timeout_ms));
      auto servers = e.mcp_servers();
      if (o.json_output) {
        std::cout << json::serialize(json::object{{"servers", servers}}) << std::endl;
      } else {
        for (const auto& v : servers) {
          const auto& s = v.as_object();
          std::cout << std::left << std::setw(20) << s.at("server").as_string().c_str() << std::setw(16)
                    << s.at("transport").as_string().c_str() << std::setw(11) << s.at("state").as_string().c_str()
                    << " protocol " << s.at("protocol_version").as_string().c_str() << ", " << s.at("tools").as_int64()
                    << " tools";
          if (s.at("last_error").is_object())
            std::cout << "  [" << s.at("last_error").at("error_code").as_string().c_str() << "] "
                      << s.at("last_error").at("error").as_string().c_str();
          std::cout << "\n";
        }
      }
      bool all_ready = true;
      for (const auto& s : servers)
        all_ready = all_ready && s.at("state") == "ready";
      return all_ready ? 0 : 1;
    }
    if (*request_cmd) {
      auto e = make_engine(o, false, true);
      auto state = e.request_state(shown_request);
      if (!state)
        return print_error(state.error(), o) - 1;
      std::cout << json::serialize(*state) << std::endl;
      return 0;
    }
    if (*journal) {
      auto e = make_engine(o, false, true);
      journal_query q;
      q.request_id = request_id;
      q.agent = agent;
      q.limit = limit;
      auto rows = e.journal(q);
      if (!rows)
        return print_error(rows.error(), o);
      if (o.json_output) {
        std::cout << json::serialize(json::object{{"entries", *rows}}) << std::endl;
      } else {
        for (const auto& row : *rows) {
          const auto& e2 = row.as_object();
          const auto& res = e2.at("result").as_object();
          std::cout << e2.at("timestamp").as_string().c_str() << "  " << std::left << std::setw(7)
                    << e2.at("agent").as_string().c_str() << std::setw(15) << e2.at("action_type").as_string().c_str()
                    << std::setw(9) << res.at("status").as_string().c_str();
          if (e2.at("tool_used").is_string())
            std::cout << " " << e2.at("tool_used").as_string().c_str();
          if (res.at("error_code").is_string())
            std::cout << " [" << res.at("error_code").as_string().c_str() << "]";
          std::cout << "  " << e2.at("request_id").as_string().c_str() << "\n";
        }
      }
      return 0;
    }
  } catch (const CLI::Error& e) {
    return app.exit(e);
  } catch (const engine_error& e) {
    return print_error(e.info, o);
  } catch (const std::exception& e) {
    return print_error(make_error(error_code::config_error, e.what()), o);
  }
  return 2;
}
