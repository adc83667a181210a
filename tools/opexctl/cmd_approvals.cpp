// opexctl approvals (the list, with the confirmation codes of pending ones), approve and reject
// (the decision; a parked step then runs or is skipped in this process).
#include "opexctl.hpp"

#include <boost/json/serialize.hpp>

#include <algorithm>
#include <cstdlib>
#include <iomanip>
#include <iostream>
#include <memory>

namespace opexctl {

namespace json = boost::json;
using namespace opex;

namespace {

struct list_args {
  std::string status, tenant;
};

void print_approval(const json::object& a) {
  std::cout << a.at("id").as_string().c_str() << "  " << std::left << std::setw(9) << a.at("status").as_string().c_str()
            << " " << a.at("tool").as_string().c_str() << " (step " << a.at("step").as_int64() << " of "
            << a.at("request_id").as_string().c_str() << ", " << a.at("kind").as_string().c_str() << ", tenant "
            << a.at("tenant").as_string().c_str() << ")\n    " << a.at("reason").as_string().c_str() << "; expires "
            << a.at("expires_at").as_string().c_str() << "\n";
  if (a.contains("confirmation_code"))
    std::cout << "    confirmation code: " << a.at("confirmation_code").as_string().c_str() << "\n";
}

int list_approvals(const list_args& args, const common_options& o) {
  if (!o.server.empty())  // the key's tenant, and no confirmation codes: the API never sends them
    return remote_show(o, "GET", "/v1/approvals" + query_string({{"status", args.status}}), "",
                       [](const json::object& b) {
                         for (const auto& v : b.at("approvals").as_array())
                           print_approval(v.as_object());
                       });
  auto e = make_engine(o, false, true);
  auto list = e.approvals(args.tenant, args.status);
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
    for (const auto& v : *list)
      print_approval(v.as_object());
  }
  return 0;
}

struct decide_args {
  std::string approval_id, code, decided_by, comment;
};

int decide_on_server(const decide_args& args, bool approve, const common_options& o) {
  json::object body{{"decision", approve ? "approve" : "reject"}};
  if (!args.code.empty())
    body["confirmation_code"] = args.code;
  if (!args.comment.empty())
    body["comment"] = args.comment;
  const char* login = std::getenv("USER");
  body["decided_by"] = !args.decided_by.empty() ? args.decided_by : std::string("opexctl:") + (login ? login : "unknown");
  // opexd resumes the parked step itself; the request's outcome is `opexctl request ID`.
  return remote_show(o, "POST", "/v1/approvals/" + args.approval_id, json::serialize(body), [&](const json::object& a) {
    std::cout << "approval " << args.approval_id << ": " << a.at("status").as_string().c_str() << " (request "
              << a.at("request_id").as_string().c_str() << ")\n";
  });
}

int decide(const decide_args& args, bool approve, const common_options& o) {
  if (!o.server.empty())
    return decide_on_server(args, approve, o);
  interrupt_watch::block_sigint();
  auto e = make_engine(o, true);  // resumes the plans waiting in the database
  approval_decision_request d;
  d.approval_id = args.approval_id;
  d.approve = approve;
  d.confirmation_code = args.code;
  d.comment = args.comment;
  const char* login = std::getenv("USER");
  d.decided_by = !args.decided_by.empty() ? args.decided_by : std::string("opexctl:") + (login ? login : "unknown");
  auto decided = e.decide(d);
  if (!decided)
    return print_error(decided.error(), o, exit_refused);
  auto req = std::string(decided->at("request_id").as_string());
  if (decided->at("kind") != "step") {
    std::cout << (o.json_output ? json::serialize(*decided)
                                : "approval " + args.approval_id + ": " + std::string(decided->at("status").as_string()))
              << std::endl;
    return 0;
  }
  // The plan goes on in this process: wait for it to end, then show its result.
  auto minutes = e.configuration().system.max_execution_time_minutes;
  auto final = e.wait(req, std::chrono::minutes(std::max(1, minutes)));
  if (!final)
    return print_error(final.error(), o, exit_refused);
  if (o.json_output)
    std::cout << json::serialize(*final) << std::endl;
  else
    std::cout << "approval " << args.approval_id << ": " << decided->at("status").as_string().c_str() << "\nrequest "
              << req << ": " << final->at("status").as_string().c_str() << "\n";
  return final->at("status") == "succeeded" ? exit_succeeded : exit_failed;
}

} // namespace

void add_approval_commands(CLI::App& app, command_list& out) {
  auto l = std::make_shared<list_args>();
  auto* approvals = app.add_subcommand("approvals", "List approvals (with the confirmation codes of pending ones)");
  approvals->add_option("--status", l->status, "pending|approved|rejected|expired (default: all)");
  approvals->add_option("--tenant", l->tenant, "Only this tenant");
  out.push_back({approvals, [l](const common_options& o) { return list_approvals(*l, o); }});

  auto d = std::make_shared<decide_args>();
  auto* approve = app.add_subcommand("approve", "Approve a pending approval; the parked step runs");
  auto* reject = app.add_subcommand("reject", "Reject a pending approval; the parked step is skipped");
  for (auto* sub : {approve, reject}) {
    sub->add_option("id", d->approval_id, "Approval id")->required();
    sub->add_option("--by", d->decided_by, "Who decides (journaled; default $USER)");
    sub->add_option("--comment", d->comment, "Why");
  }
  approve->add_option("--code", d->code, "Confirmation code, when the approval requires one");
  out.push_back({approve, [d](const common_options& o) { return decide(*d, true, o); }});
  out.push_back({reject, [d](const common_options& o) { return decide(*d, false, o); }});
}

} // namespace opexctl
