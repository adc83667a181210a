// What opex knows about itself (system_knowledge.hpp).
#include "system_knowledge.hpp"

#include "opex/policies/autonomy_policy.hpp"

#include <cstdio>

namespace opex::actors {

namespace {

std::string joined(const std::vector<std::string>& items, const char* empty = "-") {
  std::string out;
  for (const auto& i : items)
    out += (out.empty() ? "" : ", ") + i;
  return out.empty() ? std::string(empty) : out;
}

std::string usd(double value) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.2f USD", value);
  return buf;
}

std::string levels_of(const tool_definition& t) {
  std::vector<std::string> levels;
  for (int l : t.auto_allowed_levels)
    levels.push_back(std::to_string(l));
  return levels.empty() ? std::string("aucun / none (manual only: toujours une approbation / always an approval)")
                        : joined(levels);
}

knowledge_document tool_document(const tool_definition& t, const opex_config& cfg) {
  std::string body = t.id + " (" + t.name + "): " + t.description + " Catégorie / category " + t.category
                     + ", risque / risk " + t.risk_level + ". Sans approbation / without approval: " + levels_of(t) + ".";
  std::optional<int> quota = t.constraints.max_executions_per_day;
  if (auto it = cfg.autonomy.daily_limits.find(t.id); it != cfg.autonomy.daily_limits.end())
    quota = it->second;
  if (quota)
    body += " Au plus " + std::to_string(*quota) + " exécutions par jour / at most " + std::to_string(*quota)
            + " runs per day (quota).";
  if (policies::is_high_risk(t, cfg.system, cfg.autonomy))
    body += " Haut risque : approbation explicite / high risk: explicit approval.";
  if (t.constraints.requires_confirmation)
    body += " Demande un code de confirmation / needs a confirmation code.";
  if (t.cost_usd > 0)
    body += " Coût / cost " + usd(t.cost_usd) + " par appel / per call.";
  if (!t.keywords.empty())
    body += " Mots-clés / keywords: " + joined(t.keywords) + ".";
  return {"tool:" + t.id, t.id + " " + t.name, std::move(body), "tools.yml " + t.id};
}

std::vector<knowledge_document> level_documents(const opex_config& cfg) {
  std::vector<knowledge_document> out;
  std::string all;
  for (const auto& [n, def] : cfg.autonomy.levels) {
    const std::string label = std::to_string(n) + (def.name.empty() ? "" : " (" + def.name + ")");
    all += (all.empty() ? "" : "; ") + label + " : " + std::to_string(def.allowed_tools.size())
           + " outils permis / allowed tools" + (def.allowed_tools.size() <= 6 ? " (" + joined(def.allowed_tools) + ")" : "");
    std::string body = "Niveau d'autonomie / autonomy level " + label + ": outils permis / allowed tools: "
                       + joined(def.allowed_tools) + ".";
    if (!def.forbidden_actions.empty())
      body += " Interdit / forbidden: " + joined(def.forbidden_actions) + ".";
    if (def.max_cost_per_request_usd)
      body += " Budget par requête / budget per request: " + usd(*def.max_cost_per_request_usd) + ".";
    if (n == cfg.autonomy_level)
      body += " C'est le niveau actuel / this is the current level.";
    out.push_back({"level:" + std::to_string(n), "Niveau d'autonomie " + label, std::move(body),
                   "autonomy.yml levels." + std::to_string(n)});
  }
  const int highest = cfg.autonomy.levels.empty() ? 0 : cfg.autonomy.levels.rbegin()->first;
  out.push_back({"levels", "Niveaux d'autonomie / autonomy levels",
                 std::to_string(cfg.autonomy.levels.size()) + " niveaux d'autonomie / autonomy levels, de 0 à "
                   + std::to_string(highest) + " (" + std::to_string(highest) + " au-delà du niveau 0 / besides level 0): "
                   + all + ". Niveau actuel, en ce moment / current level, right now: " + std::to_string(cfg.autonomy_level) + ".",
                 "autonomy.yml levels"});
  return out;
}

knowledge_document limits_document(const opex_config& cfg) {
  const auto& s = cfg.system;
  std::string body = "Limites / limits: au plus " + std::to_string(s.max_plan_steps)
                     + " étapes par plan / at most " + std::to_string(s.max_plan_steps)
                     + " steps in a plan (max plan steps). Budget, plafond de dépenses / spending limit, spending cap: " + usd(s.max_cost_per_request_usd)
                     + " par requête / per request, " + usd(s.max_cost_per_day_usd) + " par jour / daily, "
                     + usd(s.max_cost_per_month_usd) + " par mois / monthly (dollars). Débit / rate: "
                     + std::to_string(s.max_requests_per_minute) + " requêtes par minute / requests per minute, "
                     + std::to_string(s.max_requests_per_hour) + " par heure / per hour. Durée maximale d'exécution / "
                     "maximum execution time: " + std::to_string(s.max_execution_time_minutes) + " minutes.";
  return {"limits", "Limites, budgets et quotas / limits, budgets and quotas", std::move(body), "system.yml limits"};
}

knowledge_document manual_document(const opex_config& cfg) {
  std::vector<std::string> manual, high;
  for (const auto& t : cfg.catalogue.tools()) {
    if (t.auto_allowed_levels.empty())
      manual.push_back(t.id);
    else if (policies::is_high_risk(t, cfg.system, cfg.autonomy))
      high.push_back(t.id);
  }
  return {"manual", "Outils jamais automatiques / tools that never run on their own",
          "Outils jamais lancés automatiquement, toujours avec approbation / tools never run automatically, on "
          "their own, always with an approval (manual only): " + joined(manual)
            + ". Autres outils à haut risque, approbation explicite / other high-risk tools, explicit approval: "
            + joined(high) + ".",
          "tools.yml auto_allowed_levels"};
}

} // namespace

std::vector<knowledge_document> system_documents(const opex_config& cfg) {
  auto out = level_documents(cfg);
  out.push_back(limits_document(cfg));
  out.push_back(manual_document(cfg));
  for (const auto& t : cfg.catalogue.tools())
    out.push_back(tool_document(t, cfg));
  for (const auto& t : cfg.tenants)
    out.push_back({"tenant:" + t.slug, "Tenant " + t.slug,
                   "Tenant / locataire " + t.slug + ": outils permis / allowed tools: " + joined(t.allowed_tools, "tous / all")
                     + (t.autonomy_level ? ". Niveau d'autonomie / autonomy level " + std::to_string(*t.autonomy_level) : "")
                     + (t.max_requests_per_day ? ". Au plus " + std::to_string(*t.max_requests_per_day)
                                                   + " requêtes par jour / requests per day" : "") + ".",
                   "opex.yml tenants." + t.slug});
  return out;
}

std::optional<std::string> knowledge_answer(const std::vector<knowledge_hit>& hits, bool french) {
  if (hits.empty())
    return std::nullopt;
  const auto& best = hits.front();
  const std::size_t needed = best.query_terms <= 2 ? best.query_terms : 2;
  if (best.matched_terms < needed || needed == 0)
    return std::nullopt;
  std::string text = french ? "D'après la configuration d'opex : " : "From opex's configuration: ";
  std::string sources;
  for (const auto& h : hits) {
    if (h.matched_terms < best.matched_terms || (&h != &best && sources.size() > 80))
      break;  // the best matches only, at most two or three
    text += h.document.body + " ";
    sources += (sources.empty() ? "" : "; ") + h.document.source;
  }
  return text + (french ? "(sources : " : "(sources: ") + sources + ")";
}

} // namespace opex::actors
