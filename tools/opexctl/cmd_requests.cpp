// opexctl ask (text through the whole pipeline), run (a ProlexOutput file), request (a stored
// request's state) and cancel; with --server each goes through a running opexd's API.
#include "opexctl.hpp"

#include "opex/ids.hpp"
#include "opex/json_util.hpp"

#include <boost/json/serialize.hpp>

#include <iostream>
#include <memory>

namespace opexctl {

namespace json = boost::json;
using namespace opex;

namespace {

/// Submits with Ctrl-C cancelling the request (pending steps become cancelled, calls in flight
/// are abandoned), then prints the result.
template <class Submit>
int run_interruptible(const common_options& o, submit_options so, Submit submit) {
  interrupt_watch::block_sigint();
  auto e = make_engine(o);
  so.request_id = make_uuid_v7();
  interrupt_watch watch([&e, id = so.request_id] {
    if (e.cancel(id))
      std::cerr << "  ✗ cancelling request " << id << "\n";
  });
  auto r = submit(e, std::move(so)).get();
  watch.stop();
  return finish(r, o);
}

} // namespace

void add_request_commands(CLI::App& app, command_list& out) {
  struct ask_args {
    std::string text, source = "api", user;
  };
  auto a = std::make_shared<ask_args>();
  auto* ask = app.add_subcommand("ask", "Run TEXT through Kimmy, Prolex, the Proxy Master and the executors");
  ask->add_option("text", a->text, "The request")->required();
  ask->add_option("--source", a->source, "chat|whatsapp|telegram|email|api|other");
  ask->add_option("--user", a->user, "User id");
  out.push_back({ask, [a](const common_options& o) {
                   if (!o.server.empty()) {
                     json::object body{{"text", a->text}, {"source", a->source}};
                     if (!a->user.empty())
                       body["user_id"] = a->user;
                     return remote_submit(o, "/webhook/kimmy-intake", body);
                   }
                   submit_options so;
                   so.source = a->source;
                   so.user_id = a->user;
                   return run_interruptible(o, std::move(so), [a](engine& e, submit_options s) {
                     return e.submit_text(a->text, std::move(s));
                   });
                 }});

  struct run_args {
    std::string plan_file, user;
  };
  auto r = std::make_shared<run_args>();
  auto* run = app.add_subcommand("run", "Run a ProlexOutput file through the Proxy Master and the executors");
  run->add_option("plan", r->plan_file, "ProlexOutput JSON file")->required()->check(CLI::ExistingFile);
  run->add_option("--user", r->user, "User id");
  out.push_back({run, [r](const common_options& o) {
                   auto doc = read_json_file(r->plan_file);
                   if (!doc)
                     return print_error(doc.error(), o);
                   if (!o.server.empty()) {
                     if (!doc->is_object())
                       return print_error(make_error(error_code::validation_error, r->plan_file + ": not a JSON object"), o);
                     return remote_submit(o, "/webhook/proxy-exec", doc->as_object());
                   }
                   submit_options so;
                   so.user_id = r->user;
                   auto plan = std::make_shared<json::value>(std::move(doc).value());
                   return run_interruptible(o, std::move(so), [plan](engine& e, submit_options s) {
                     return e.submit_output(std::move(*plan), std::move(s));
                   });
                 }});

  auto shown = std::make_shared<std::string>();
  auto* request = app.add_subcommand("request", "Show a request's stored state and result");
  request->add_option("id", *shown, "Request id")->required();
  out.push_back({request, [shown](const common_options& o) {
                   if (!o.server.empty())
                     return remote_show(o, "GET", "/v1/requests/" + *shown, "", nullptr);
                   auto e = make_engine(o, false, true);
                   auto state = e.request_state(*shown);
                   if (!state)
                     return print_error(state.error(), o, exit_refused);
                   std::cout << json::serialize(*state) << std::endl;
                   return 0;
                 }});

  auto cancelled = std::make_shared<std::string>();
  auto* cancel = app.add_subcommand("cancel", "Cancel a running request on opexd (--server): pending steps are cancelled");
  cancel->add_option("id", *cancelled, "Request id")->required();
  out.push_back({cancel, [cancelled](const common_options& o) {
                   if (o.server.empty())
                     return print_error(make_error(error_code::validation_error,
                                                   "cancel needs --server: a request runs in the process that started it "
                                                   "(Ctrl-C cancels one started by opexctl ask or run)",
                                                   json::object{{"option", "--server"}}),
                                        o);
                   return remote_show(o, "DELETE", "/v1/requests/" + *cancelled, "", [](const json::object& b) {
                     std::cout << "request " << b.at("request_id").as_string().c_str() << ": "
                               << b.at("status").as_string().c_str() << "\n";
                   });
                 }});
}

} // namespace opexctl
