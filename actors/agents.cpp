// Spawning and stopping the agents of one engine.
#include "agents.hpp"

#include <caf/actor_system.hpp>
#include <caf/exit_reason.hpp>
#include <caf/send.hpp>

#include <algorithm>
#include <set>

namespace opex::actors {

result<agent_actor> spawn_agents(caf::actor_system& system, const std::shared_ptr<runtime>& rt,
                                 const std::string& database, bool detached_journal) {
  rt->actor_time = &system.clock();
  if (!rt->breakers)
    rt->breakers = std::make_unique<policies::breaker_registry>(rt->config.circuit_breaker);
  if (!rt->limiter)
    rt->limiter = std::make_unique<target_limiter>(std::max(1, rt->config.execution.target_max_concurrency));
  auto journal = spawn_store(system, rt, database, detached_journal);
  if (!journal)
    return journal.error();
  rt->store = std::move(journal).value();
  auto reports = spawn_report_reader(system, rt->config.storage, database, detached_journal);
  if (!reports)
    return reports.error();
  rt->reports = std::move(reports).value();
  auto context = spawn_report_reader(system, rt->config.storage, database, detached_journal);
  if (!context)
    return context.error();
  rt->context = std::move(context).value();
  std::set<std::string> categories;
  for (const auto& t : rt->config.catalogue.tools())
    categories.insert(t.category);
  for (const auto& c : categories)
    rt->executors.emplace(c, spawn_executor(system, rt, c));
  if (rt->llm)
    rt->llm_gateway = spawn_llm_gateway(system, rt);
  rt->proxy_master = spawn_proxy_master(system, rt);
  rt->prolex = spawn_prolex_planner(system, rt);
  return spawn_kimmy_filter(system, rt);
}

void stop_agents(caf::actor_system& system, runtime& rt) {
  (void) system;
  auto stop = [](const auto& handle) {
    if (handle)
      caf::anon_send_exit(handle, caf::exit_reason::user_shutdown);
  };
  stop(rt.prolex);
  stop(rt.proxy_master);
  stop(rt.llm_gateway);
  for (auto& [_, e] : rt.executors)
    stop(e);
  stop(rt.store);
  stop(rt.reports);
  stop(rt.context);
  rt.executors.clear();
  rt.prolex = nullptr;
  rt.proxy_master = nullptr;
  rt.llm_gateway = nullptr;
  rt.store = nullptr;
  rt.reports = nullptr;
  rt.context = nullptr;
}

} // namespace opex::actors
