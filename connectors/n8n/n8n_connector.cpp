// The n8n connector: picks the instance of the call's environment and runs the operation on the
// connector's own I/O thread (so that a test run can poll its execution on a timer without
// holding an actor thread). See n8n_connector.hpp for the operations and their results, and
// n8n_op.hpp for how they are built.
#include "n8n_op.hpp"

namespace opex::connectors {

using namespace n8n_detail;

std::string_view n8n_operation_for(std::string_view tool_id) noexcept {
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 5> operations{{
    {"N8N_LIST_WORKFLOWS", "list_workflows"}, {"N8N_WORKFLOW_UPSERT", "workflow_upsert"},
    {"N8N_WORKFLOW_TEST", "workflow_test"},   {"N8N_WORKFLOW_PROMOTE", "workflow_promote"},
    {"N8N_WORKFLOW_DESIGN", "workflow_design"}}};
  for (const auto& [tool, operation] : operations)
    if (tool == tool_id)
      return operation;
  return {};
}

struct n8n_connector::impl : n8n_detail::state {};

n8n_connector::n8n_connector(n8n_connector_options options) : impl_(std::make_shared<impl>()) {
  impl_->settings = std::move(options.settings);
  impl_->http = std::move(options.http);
  impl_->llm = std::move(options.llm);
  impl_->design_llm = std::move(options.design_llm);
  impl_->thread = std::thread([im = impl_.get()] { im->io.run(); });
}

n8n_connector::~n8n_connector() {
  // Operations still running hold the impl; stop the thread first so none outlives it.
  impl_->work.reset();
  impl_->io.stop();
  if (impl_->thread.joinable())
    impl_->thread.join();
}

std::string n8n_connector::breaker_key(const tool_definition& /*tool*/) const {
  const auto* inst = impl_->settings.for_environment("sandbox");
  return "n8n:" + (inst ? inst->name : std::string("none"));
}

cancel_handle n8n_connector::call(const tool_definition& tool, const json::object& payload, const call_context& ctx,
                                  call_completion done) {
  std::string operation = tool.target.text("operation", n8n_operation_for(tool.id));
  static const std::set<std::string, std::less<>> known{"list_workflows", "workflow_upsert", "workflow_test",
                                                         "workflow_promote", "workflow_design"};
  if (!known.contains(operation)) {
    call_outcome out;
    out.error = make_error(error_code::connector_unavailable, "unknown n8n operation " + operation,
                           json::object{{"tool", tool.id}, {"operation", operation}});
    done(std::move(out));
    return {};
  }
  auto env = environment_of(operation, payload);
  const auto* inst = impl_->settings.for_environment(env);
  const n8n_instance_settings* target = nullptr;
  if (operation == "workflow_promote")
    target = impl_->settings.for_environment(std::string(get_string(payload, "to").value_or("production")));
  if (inst == nullptr || (operation == "workflow_promote" && target == nullptr)) {
    call_outcome out;
    out.error = make_error(error_code::connector_unavailable, "no n8n instance serves " + env,
                           json::object{{"tool", tool.id}, {"environment", env}});
    done(std::move(out));
    return {};
  }
  int max_nodes = impl_->settings.design_max_nodes;
  if (const auto* m = find_path(json::value(payload), "constraints.max_nodes"); m && m->is_int64())
    max_nodes = static_cast<int>(m->get_int64());
  auto op = std::make_shared<n8n_op>(impl_, inst, operation, payload, ctx, std::move(done));
  asio::post(impl_->io, [op, target, max_nodes] {
    const auto& o = op->operation();
    if (o == "list_workflows")
      list_workflows(op);
    else if (o == "workflow_upsert")
      upsert(op);
    else if (o == "workflow_test")
      test_workflow(op);
    else if (o == "workflow_promote")
      promote(op, target);
    else
      design(op, max_nodes);
  });
  std::weak_ptr<impl> weak = impl_;
  return [weak, op] {
    if (auto im = weak.lock())
      asio::post(im->io, [op] { op->cancel(); });
  };
}

} // namespace opex::connectors
