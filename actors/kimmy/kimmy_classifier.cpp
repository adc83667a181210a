// Kimmy's rules: intents, parameters, complexity, confidence and the escalation decision.
#include "kimmy_classifier.hpp"

#include "text_regex.hpp"

#include "date_resolver.hpp"
#include "text_normalizer.hpp"

#include "opex/ids.hpp"
#include "opex/json_util.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>

namespace opex::actors {

namespace json = boost::json;

namespace {

// -- intent rules ---------------------------------------------------------------------------

struct intent_rule {
  std::string_view intent;
  boost::regex re;
  int weight;
  bool trigger;  ///< marks where the action phrase ends (parameters follow it)
};

std::vector<intent_rule> build_rules() {
  const std::string create_verb =
    "(?:cree|creer|creez|cree-moi|ajoute|ajouter|ajoutez|ajoute-moi|rajoute|nouvelle|nouveau|"
    "mets|mettre|mets-moi|fais|faire|fais-moi|inscris|note|add|create|new|make|put|set up|open|"
    "write|log)";
  const std::string task_noun = "(?:taches?|todo|to-do|to do|tasks?|todo list|to-do list|"
                                "liste de taches|liste des taches|task list|reminder|rappel)";
  const std::string event_noun =
    "(?:reunions?|rendez-vous|rendez vous|rdv|meetings?|appointments?|calls?|visio|visioconference|"
    "entretien|dejeuner|diner|lunch|dinner|standup|stand-up|demo|atelier|workshop|seance|session|"
    "sync|one-on-one|1:1|evenement|event|creneau|slot|conference)";
  const std::string event_verb =
    "(?:planifie|planifier|planifiez|programme|programmer|organise|organiser|schedule|book|cale|"
    "caler|bloque|bloquer|block|arrange|reserve|reserver|fixe|fixer|prevois|prevoir|invite|"
    "ajoute|ajouter|add|cree|creer|create|put|set up|mets|met)";
  const std::string infra_noun =
    "(?:serveurs?|servers?|vps|docker|containers?|conteneurs?|traefik|nginx|postgres|postgresql|"
    "redis|base de donnees|database|db|disque|disk|cpu|ram|memoire|memory|dns|ssl|certificats?|"
    "certificates?|n8n|api|services?|site|infra|infrastructure|backend|webhooks?|prod|production|"
    "cluster|machine|reseau|network|load balancer|uptime|anythingllm|stockage|storage)";
  const std::string symptom =
    "(?:down|plante|plantes|crash|crashe|crashes|crashed|crashing|tombe|tombes|ne repond plus|"
    "ne repond pas|repond plus|not responding|unreachable|inaccessible|erreurs?|errors?|bug|bugs|"
    "panne|lent|lente|slow|timeouts?|sature|saturee|full|plein|pleine|502|503|500|504|ko|hs|fail|"
    "fails|failing|failed|broken|redemarre|redemarrer|restart|reboot|healthcheck|health check|"
    "health|sante|diagnostic|diagnose|diagnostique|expire|expired|expires|spike|fuite|leak|"
    "refuse|refused|throwing|renvoie|returns|logs? d'erreur|error logs?|cpu a|surcharge|overloaded|"
    "usage|utilisation|eating|espace|space|\\d{2,3} ?%)";
  const std::string doc_noun =
    "(?:documents?|docs?|documentation|fichier|file|page|pages|notes|compte[- ]rendu|readme|wiki|"
    "procedure|guide|spec|specs|specification|plan|sommaire|sections?|chapitres?|onboarding doc|"
    "manuel|manual|faq|memo|cahier des charges|presentation|contrat|contract|article|texte|text|pdf|"
    "attachment|piece jointe|email|mail|transcript|transcription|slides|deck|rapport|report)";
  const std::string restructure_verb =
    "(?:restructure|restructurer|restructurez|reorganise|reorganiser|reorganize|reorganise|"
    "reformate|reformater|reformat|mets en forme|mettre en forme|mise en forme|reecris|reecrire|"
    "rewrite|clean up|nettoie|nettoyer|structure|structurer|resume|resumer|summari[sz]e|condense|"
    "condenser|simplifie|simplifier|harmonise|harmoniser|format|tidy up|tidy|split|decoupe|"
    "restructure|reorder|reordonne|fusionne|merge|ameliore la structure|improve the structure)";
  const std::string interrogative =
    "^(?:c'est quoi|qu'est-ce|qu'est ce|quel|quelle|quels|quelles|comment|pourquoi|quand|combien|"
    "ou est|ou se|est-ce|est ce|what|what's|whats|how|why|when|where|who|which|is|are|can you explain|"
    "could you explain|does|do|did|explain|explique|expliquez|definis|define|difference|tell me|"
    "peux-tu m'expliquer|tu peux m'expliquer|dis-moi|dis moi|should)\\b";
  const std::string config_target =
    "(?:niveau d'autonomie|niveau|autonomie|autonomy|modele|model|llm|config|configuration|"
    "parametres?|settings?|seuils?|thresholds?|cle api|cle d'api|api key|webhook url|url du webhook|"
    "url|limites?|limits?|budget|mode|temperature|timeout|fuseau horaire|timezone|langue par defaut|"
    "default language|quotas?|rate limit)";
  const std::string config_verb =
    "(?:change|changer|changez|modifie|modifier|passe|passer|mets|mettre|regle|regler|set|update|"
    "switch|configure|configurer|active|activer|desactive|desactiver|enable|disable|augmente|"
    "augmenter|baisse|baisser|increase|decrease|raise|lower|remplace|remplacer|replace|bascule|"
    "basculer|rotate|renouvelle la cle|turn on|turn off|reduce|reduis)";

  std::vector<intent_rule> r;
  auto add = [&](std::string_view intent, const std::string& re, int w, bool trigger = false) {
    r.push_back({intent, text_regex(re), w, trigger});
  };
  // task_update first: "marque la tâche X comme faite" also contains a task noun.
  add("task_update",
      "\\b(?:marque|marquer|marquez|mark|coche|cocher|check off|tick off)\\b.{0,60}\\b(?:comme |as )?"
      "(?:fait|faite|faites|terminee?s?|termine|done|complete|completed|finished|finie?|close|closed)\\b",
      6, true);
  add("task_update",
      "\\b(?:deplace|deplacer|decale|decaler|reporte|reporter|repousse|repousser|move|reschedule|"
      "postpone|push back|renomme|renommer|rename|modifie|modifier|change|changer|update|mets a jour|"
      "mettre a jour|passe|passer|ferme|fermer|close|reopen|rouvre|complete|termine|assign|assigne|"
      "reassign|edit|bump|raise|lower|set|prioritise|prioritize|repriorise)\\b.{0,50}\\b(?:la tache|ma tache|une tache|cette tache|the task|my task|that task|"
      "this task|task|tache|le todo|the todo)\\b",
      6, true);
  add("task_update",
      "\\b(?:la|ma|the|my) (?:tache|task)\\b.{0,60}\\b(?:est|is) (?:faite|terminee|finie|done|complete|"
      "completed|finished)\\b",
      6);
  add("task_update",
      "\\b(?:la|ma|the|my|cette|that|this) (?:tache|task)\\b.{0,60}\\b(?:c'est fait|c'est termine|"
      "c'est bon|cocher|coche|check (?:it )?off|tick (?:it )?off|is done|est terminee|mark it)\\b",
      6);
  add("task_update", "\\b(?:priorite de la tache|due date of the task|echeance de la tache|"
                     "deadline of the task|task's (?:due date|deadline|priority))\\b", 5);
  add("task_create", "\\b" + create_verb + "\\b.{0,25}\\b" + task_noun + "\\b", 5, true);
  add("task_create", "\\b(?:rappelle[- ]?moi|rappelle[- ]?nous|remind me|remind us|rappelez[- ]moi)\\b", 5,
      true);
  add("task_create", "\\b(?:ma|la|mes|my|the|a ma|to my|dans ma|in my|on my|sur ma) " + task_noun + "\\b", 3,
      true);
  add("task_create", "^(?:todo|to-do|tache|task)\\b", 3, true);
  add("task_create", "\\b(?:n'oublie pas de|ne pas oublier de|don't forget to|dont forget to|"
                     "pense a|il faut que je|i need to|i have to|je dois)\\b", 2, true);
  add("task_create", "\\b(?:taches?|tasks?|todo)\\b", 1);
  add("calendar_event", "\\b" + event_verb + "\\b.{0,30}\\b(?:" + event_noun + "|point|points)\\b", 5, true);
  add("calendar_event", "\\b" + event_noun + "\\b", 2);
  add("calendar_event", "\\b(?:agenda|calendrier|calendar)\\b", 3);
  add("calendar_event", "\\b(?:planifie|planifier|schedule|book|reserve|programmer)\\b", 1);
  add("doc_note",
      "\\b(?:prends?|prendre|prenez|ecris|ecrire|cree|creer|ajoute|ajouter|nouvelle|fais|take|write|"
      "make|create|add|jot|new|garde|keep|enregistre|save)\\b.{0,20}\\b(?:notes?|memos?|post-it)\\b",
      5, true);
  add("doc_note", "^(?:note|notes|memo|note to self|nb)\\b", 5, true);
  add("doc_note", "\\b(?:note que|notez que|note bien que|note that|jot down|write down|make a note|"
                  "prends note|prendre note|prends bonne note|take note|note pour moi|note for me|"
                  "garde en memoire|keep in mind that|retiens que|remember that)\\b",
      5, true);
  add("doc_structuring", "\\b" + restructure_verb + "\\b.{0,50}\\b" + doc_noun + "\\b", 5, true);
  add("doc_structuring", "\\b" + restructure_verb + "\\b", 1);
  add("question_systeme",
      "\\b(?:ton|ta|tes|votre|vos|your|you|tu)\\b.{0,30}\\b(?:niveau|autonomie|autonomy|outils|tools|"
      "config|configuration|capacites|capabilities|fonctionnement|limites|limits|permissions?|"
      "version|journal|logs?|etat|status|modele|model|level|regles|rules|droits|rights|quotas?|budget|"
      "systeme|system|fonctionnes?|decides?|classification|classifies|classify|routes?|routing|"
      "memoire|memory|historique|history)\\b",
      5, true);
  add("question_systeme", "\\b(?:systemjournal|system journal|journal systeme|journal|kimmy|prolex|opex|"
                          "proxy master)\\b", 3, true);
  add("question_systeme",
      "\\b(?:niveau d'autonomie|autonomy level|quels outils|which tools|what tools|what can you do|"
      "que sais-tu faire|tu sais faire quoi|tu peux faire quoi|qu'est-ce que tu peux faire|"
      "how do you work|comment tu fonctionnes|comment fonctionnes-tu|dernieres entrees|last entries|"
      "derniers logs|last logs|outils disponibles|available tools|tools are available|"
      "do you have access|as-tu acces|combien de requetes|how many requests)\\b",
      5, true);
  add("debug_infra", "\\b" + infra_noun + "\\b.{0,50}\\b" + symptom + "\\b", 5, true);
  add("debug_infra", "\\b" + symptom + "\\b.{0,50}\\b" + infra_noun + "\\b", 4, true);
  add("debug_infra", "\\b(?:healthcheck|health check|etat des services|sante des services|"
                     "state of the services|services health|status of the services|uptime)\\b", 4);
  add("debug_infra", "\\b" + infra_noun + "\\b", 1);
  add("client_workflow", "\\b(?:onboarding|onboarde|onboarder|onboard|embarquement)\\b", 5, true);
  add("client_workflow",
      "\\b(?:clients?|customers?)\\b.{0,40}\\b(?:workflow|onboarding|rapport mensuel|monthly report|"
      "pack|automatisation|automation|lance|lancer|run|execute|executer|demarre|start|process|"
      "processus|sequence|relance auto)\\b",
      4);
  add("client_workflow",
      "\\b(?:lance|lancer|run|execute|executer|demarre|demarrer|start|trigger|declenche|declencher)\\b"
      ".{0,40}\\b(?:workflow|process|processus|automatisation|automation|pack|sequence)\\b.{0,40}"
      "\\b(?:clients?|customers?)\\b",
      5, true);
  add("client_workflow",
      "\\b(?:rapport mensuel|monthly report|rapport|report|pack|welcome pack|pack de bienvenue|workflow|"
      "onboarding|dossier|kit)\\b.{0,30}\\b(?:du|de|for|pour|of|to)(?: (?:the|le|la|notre|nos|our|new|"
      "nouveau|nouvelle|ce|cet|cette))* (?:clients?|customers?)\\b",
      5, true);
  add("client_workflow", "\\b(?:clients?|customers?)\\b", 1);
  add("dev_workflow",
      "\\b(?:repo|repos|repository|repositories|depot|git|github|gitlab|clone|cloner|pull request|"
      "merge request|pr|merge|branche|branch|commit|push|code|refactor|refactoriser|refacto|"
      "tests? unitaires?|unit tests?|ci|pipeline|deploy|deploie|deployer|script|endpoint|fonction|"
      "function|typescript|python|javascript|npm|compile|build|lint|dependance|dependency|issue)\\b",
      3, true);
  add("dev_workflow", "\\b(?:workflows?)\\b.{0,15}\\bn8n\\b|\\bn8n\\b.{0,15}\\b(?:workflows?)\\b", 4, true);
  add("dev_workflow",
      "\\b(?:design|designe|concois|concevoir|cree|creer|create|build|construis|construire|genere|"
      "generer|generate|draft|prepare|ecris|write|developpe|develop|implemente|implement)\\b.{0,30}"
      "\\b(?:workflow|workflows|automation|automatisation|script|fonction|function|endpoint|module)\\b",
      3, true);
  add("dev_workflow",
      "\\b(?:fix|fixe|corrige|corriger|repare|reparer|debug|debugger|debogue)\\b.{0,40}\\b(?:tests?|bugs?|"
      "code|module|function|fonction|script|build|endpoint|regression|exception|stack trace|crash)\\b",
      5, true);
  add("reporting",
      "\\b(?:rapport|rapports|report|reports|reporting|resume hebdo|weekly summary|summary|recap|"
      "recapitulatif|bilan|statistiques|statistics|stats|chiffres|numbers|kpi|kpis|metriques|metrics|dashboard|tableau de bord|"
      "synthese|analytics)\\b",
      3, true);
  add("reporting", "\\b(?:hebdo|hebdomadaire|weekly|mensuel|mensuelle|monthly|de la semaine|"
                   "of the week|du mois|this month|ce mois|last week|la semaine derniere|trimestriel|"
                   "quarterly)\\b", 1);
  add("reporting", "\\b(?:couts?|costs?|depenses|spend|spending|usage|consommation|factures? api|"
                   "api bills?)\\b", 3);
  add("config_change", "\\b" + config_verb + "\\b.{0,40}\\b" + config_target + "\\b", 5, true);
  add("config_change", "\\b(?:config|configuration|parametres|settings|autonomy level|niveau d'autonomie)\\b", 1);
  add("question_simple", interrogative, 2);
  add("question_simple", "\\?\\s*$", 2);
  add("other", "^(?:salut|bonjour|hello|hi|hey|coucou|merci|thanks|thank you|ok|okay|hmm+|lol|bonsoir|"
               "yo|ca va|good morning|good night|bye|au revoir)\\b", 3);
  add("other", "\\b(?:blague|joke|poeme|poem|chante|sing|devine|guess)\\b", 3);
  add("other", "\\b(?:le truc|the thing|l'autre fois|the other time|comme d'hab|as usual|tu sais quoi|"
               "you know what)\\b", 3);
  return r;
}

// -- language -------------------------------------------------------------------------------

const std::set<std::string, std::less<>>& french_words() {
  static const std::set<std::string, std::less<>> w{
    "le", "la", "les", "un", "une", "des", "de", "du", "et", "pour", "avec", "dans", "sur", "que",
    "qui", "est", "pas", "mon", "ma", "mes", "ton", "ta", "tes", "je", "tu", "il", "nous", "vous",
    "ce", "cette", "au", "aux", "en", "ne", "plus", "moi", "tache", "demain", "fais", "cree",
    "ajoute", "rappelle", "reunion", "peux", "quel", "quelle", "comment", "pourquoi", "c'est",
    "d'un", "d'une", "j'ai", "l'", "qu'", "est-ce", "aujourd'hui", "prochain", "semaine", "avant",
    "apres", "jour", "jours", "sont", "faire", "mettre", "mets", "lance", "merci", "bonjour",
    "salut", "ou", "quoi", "depuis", "tout", "tous", "aussi", "encore", "niveau", "outils", "donne",
    "moi", "nouvelle", "note", "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi",
    "dimanche", "serveur", "rapport", "couts", "ne", "repond", "planifie", "s'il", "stp", "svp"};
  return w;
}

const std::set<std::string, std::less<>>& english_words() {
  static const std::set<std::string, std::less<>> w{
    "the", "a", "an", "and", "for", "with", "in", "on", "to", "of", "is", "are", "my", "your",
    "you", "i", "me", "it", "this", "that", "please", "can", "could", "what", "how", "why",
    "when", "task", "tomorrow", "add", "create", "remind", "meeting", "schedule", "by", "next",
    "week", "today", "from", "at", "be", "do", "does", "should", "would", "new", "set", "up",
    "run", "show", "give", "make", "about", "our", "we", "there", "any", "all", "monday",
    "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "server", "report",
    "costs", "hello", "hi", "thanks", "note", "write", "down", "what's", "it's", "i'm", "don't",
    "let's", "which", "tell", "explain", "difference", "between", "workflow", "client", "summary"};
  return w;
}

std::vector<std::string> words_of(std::string_view folded) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : folded) {
    bool word = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '\'' || c == '-';
    if (word) {
      cur.push_back(c);
    } else if (!cur.empty()) {
      out.push_back(std::move(cur));
      cur.clear();
    }
  }
  if (!cur.empty())
    out.push_back(std::move(cur));
  return out;
}

// -- extraction helpers ---------------------------------------------------------------------

struct span {
  std::size_t begin = 0;
  std::size_t end = 0;
};

/// Text of `nt` over folded [begin, end) minus `cuts`, in original form, tidied.
std::string original_without(const normalized_text& nt, std::size_t begin, std::size_t end,
                             const std::vector<span>& cuts) {
  std::vector<span> keep;
  std::size_t pos = begin;
  std::vector<span> sorted = cuts;
  std::sort(sorted.begin(), sorted.end(), [](const span& a, const span& b) { return a.begin < b.begin; });
  for (const auto& c : sorted) {
    if (c.end <= pos || c.begin >= end)
      continue;
    if (c.begin > pos)
      keep.push_back({pos, c.begin});
    pos = std::max(pos, c.end);
  }
  if (pos < end)
    keep.push_back({pos, end});
  std::string out;
  for (const auto& k : keep) {
    auto piece = nt.original(k.begin, k.end);
    if (piece.empty())
      continue;
    if (!out.empty())
      out.push_back(' ');
    out += piece;
  }
  return out;
}

bool is_space_or_punct(char c) {
  return c == ' ' || c == ',' || c == '.' || c == ';' || c == ':' || c == '!' || c == '?' || c == '-'
         || c == '"' || c == '\'' || c == '(' || c == ')';
}

/// Removes leading filler words and trailing punctuation/filler from an extracted phrase.
std::string tidy_phrase(std::string s) {
  static const std::array<std::string_view, 44> lead{
    "pour ", "de ", "d'", "d’", "à ", "a ", "to ", "that ", "qui ", "que ", "me ", "moi ", "nous ",
    ": ", "- ", "une ", "un ", "la ", "le ", "les ", "l'", "l’", "an ", "the ", "about ", "sur ",
    "consistant à ", "afin de ", "in order to ", "so that ", "for ", "of ", "with me ", "avec moi ",
    "tâche ", "task ", "todo ", "note ", "s'il te plaît ", "please ", "stp ", "svp ", "aussi ", "also "};
  static const std::array<std::string_view, 14> tail{
    " c'est important", " c’est important", " s'il te plaît", " s’il te plaît", " please", " stp",
    " svp", " merci", " thanks", " pour moi", " for me", " à faire", " asap", " stp merci"};
  auto trim = [](std::string& t) {
    while (!t.empty() && is_space_or_punct(t.front()) && t.front() != '\'' )
      t.erase(t.begin());
    while (!t.empty() && is_space_or_punct(t.back()))
      t.pop_back();
  };
  for (int round = 0; round < 6; ++round) {
    trim(s);
    bool changed = false;
    for (auto l : lead) {
      if (s.size() > l.size() && (l.back() != ' ' || s[l.size() - 1] == ' ')
          && fold_text(s.substr(0, l.size())) == fold_text(l)) {
        s.erase(0, l.size());
        changed = true;
        break;
      }
    }
    for (auto t : tail) {
      if (s.size() > t.size() && s[s.size() - t.size()] == ' '
          && fold_text(s.substr(s.size() - t.size())) == fold_text(t)) {
        s.erase(s.size() - t.size());
        changed = true;
        break;
      }
    }
    if (!changed)
      break;
  }
  trim(s);
  // Collapse double spaces left by cuts.
  std::string out;
  for (char c : s)
    if (!(c == ' ' && !out.empty() && out.back() == ' '))
      out.push_back(c);
  // Drop a dangling connector left at the end by a cut ("... le", "... for").
  static const std::array<std::string_view, 12> dangling{" pour", " le", " la", " de", " for", " by",
                                                         " on", " avant", " d'ici", " the", " at", " à"};
  for (auto d : dangling)
    if (out.size() > d.size() && out.ends_with(d))
      out.erase(out.size() - d.size());
  while (!out.empty() && is_space_or_punct(out.back()))
    out.pop_back();
  return out;
}

/// Tidies a note's content: only connectors between the trigger and the content go ("que",
/// "that", ":"); articles stay ("la réunion est déplacée").
std::string tidy_note(std::string s) {
  static const std::array<std::string_view, 9> lead{"que ", "qu'", "qu’", "that ", ": ", "- ", "to self ", "pour moi ", "for me "};
  for (int round = 0; round < 3; ++round) {
    while (!s.empty() && (s.front() == ' ' || s.front() == ':' || s.front() == ',' || s.front() == '-'))
      s.erase(s.begin());
    bool changed = false;
    for (auto l : lead)
      if (s.size() > l.size() && (l.back() != ' ' || s[l.size() - 1] == ' ')
          && fold_text(s.substr(0, l.size())) == fold_text(l)) {
        s.erase(0, l.size());
        changed = true;
      }
    if (!changed)
      break;
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == ','))
    s.pop_back();
  return s;
}

std::string capitalize_first(std::string s) {
  if (!s.empty() && s[0] >= 'a' && s[0] <= 'z')
    s[0] = static_cast<char>(s[0] - 'a' + 'A');
  else if (s.size() >= 2 && static_cast<unsigned char>(s[0]) == 0xC3) {
    auto c = static_cast<unsigned char>(s[1]);
    if (c >= 0xA0 && c <= 0xBE && c != 0xB7)
      s[1] = static_cast<char>(c - 0x20);  // é -> É
  }
  return s;
}

/// The first quoted segment («...», "...", “...”) of the folded text (quotes fold to ").
std::optional<span> quoted(std::string_view folded) {
  auto a = folded.find('"');
  if (a == std::string_view::npos)
    return std::nullopt;
  auto b = folded.find('"', a + 1);
  if (b == std::string_view::npos || b - a < 3)
    return std::nullopt;
  return span{a + 1, b};
}

/// Single-quoted title ('Fix login page') in English text: quotes around 2+ chars with the
/// opening quote after a space.
std::optional<span> single_quoted(std::string_view folded) {
  for (std::size_t a = folded.find(" '"); a != std::string_view::npos; a = folded.find(" '", a + 1)) {
    auto b = folded.find('\'', a + 2);
    while (b != std::string_view::npos && b + 1 < folded.size()
           && ((folded[b + 1] >= 'a' && folded[b + 1] <= 'z'))) // apostrophe inside a word
      b = folded.find('\'', b + 1);
    if (b != std::string_view::npos && b - a > 3)
      return span{a + 2, b};
  }
  return std::nullopt;
}

struct found_span {
  span where;
  std::string value;
};

std::optional<found_span> find_priority(std::string_view folded) {
  struct p {
    const char* re;
    const char* value;
  };
  static const std::vector<std::pair<boost::regex, std::string>> rules = [] {
    std::vector<p> raw{
      {"\\b(?:pas urgent|pas urgente|non urgent|not urgent|no rush|sans urgence|pas presse|"
       "basse priorite|priorite basse|faible priorite|low priority|low-priority|quand tu as le temps|"
       "quand tu auras le temps|quand tu peux|when you have time|when you get a chance|whenever)\\b",
       "low"},
      {"\\b(?:urgent|urgente|urgemment|en urgence|d'urgence|asap|au plus vite|des que possible|"
       "immediatement|immediately|right away|tout de suite|critique|critical)\\b",
       "urgent"},
      {"\\b(?:haute priorite|priorite haute|priorite elevee|high priority|high-priority|"
       "top priority|prioritaire|important|importante|c'est important|it's important)\\b",
       "high"},
      {"\\b(?:priorite moyenne|moyenne priorite|priorite normale|medium priority|normal priority|"
       "medium-priority)\\b",
       "medium"},
    };
    std::vector<std::pair<boost::regex, std::string>> out;
    for (const auto& r : raw)
      out.emplace_back(text_regex(r.re), r.value);
    return out;
  }();
  std::string text(folded);
  for (const auto& [re, value] : rules) {
    boost::smatch m;
    if (boost::regex_search(text, m, re)) {
      auto b = static_cast<std::size_t>(m.position());
      // Include a leading "c'est"/"," so "…, c'est important" disappears from titles.
      return found_span{{b, b + static_cast<std::size_t>(m.length(0))}, value};
    }
  }
  return std::nullopt;
}

bool is_upper_start(std::string_view original_word) {
  if (original_word.empty())
    return false;
  auto c = static_cast<unsigned char>(original_word[0]);
  if (c >= 'A' && c <= 'Z')
    return true;
  if (c == 0xC3 && original_word.size() > 1) {
    auto d = static_cast<unsigned char>(original_word[1]);
    return d >= 0x80 && d <= 0x9E;
  }
  return c >= '0' && c <= '9';
}

/// "client Dupont", "pour le client Acme Corp", "for customer Globex": the capitalised words
/// after the keyword, from the original text.
std::optional<std::string> find_client_name(const normalized_text& nt) {
  static const boost::regex re = text_regex(
    "\\b(?:client|cliente|customer|clients|customers)(?: (?:nomme|nommee|named|called|appele|appelee))? ");
  std::string text(nt.folded);
  for (boost::sregex_iterator it(text.begin(), text.end(), re), end; it != end; ++it) {
    auto pos = static_cast<std::size_t>(it->position() + it->length(0));
    std::vector<std::string> words;
    while (pos < text.size() && words.size() < 3) {
      auto next = text.find(' ', pos);
      if (next == std::string::npos)
        next = text.size();
      auto word = nt.original(pos, next);
      // Strip possessive and trailing punctuation ("Acme's", "Dupont,").
      while (!word.empty() && is_space_or_punct(word.back()))
        word.pop_back();
      if (word.ends_with("'s") || word.ends_with("’s"))
        word.erase(word.size() - (word.ends_with("'s") ? 2 : 4));
      if (!is_upper_start(word))
        break;
      words.push_back(word);
      auto raw = nt.original(pos, next);
      if (!raw.empty() && (raw.back() == ',' || raw.back() == '.' || raw.back() == ':'))
        break;
      pos = next + 1;
    }
    if (!words.empty()) {
      std::string name;
      for (const auto& w : words)
        name += (name.empty() ? "" : " ") + w;
      return name;
    }
  }
  return std::nullopt;
}

std::string truncate_utf8(std::string s, std::size_t max_bytes) {
  if (s.size() <= max_bytes)
    return s;
  std::size_t cut = max_bytes;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80)
    --cut;
  s.resize(cut);
  return s + "…";
}

} // namespace

struct kimmy_classifier::impl {
  std::vector<intent_rule> rules = build_rules();
  const opex_config& cfg;
  std::vector<std::pair<std::string, std::string>> sensitive;  // folded keyword, group
  std::vector<std::string> suspicious{"rm -rf", "drop table", "delete from", "truncate table",
                                      "format c:", "mkfs", "chmod 777"};

  explicit impl(const opex_config& c) : cfg(c) {
    for (const auto& [group, words] : c.system.sensitive_keywords)
      for (const auto& w : words)
        sensitive.emplace_back(fold_text(w), group);
    for (const auto& w : c.kimmy.extra_sensitive_keywords)
      sensitive.emplace_back(fold_text(w), "extra");
  }
};

kimmy_classifier::kimmy_classifier(const opex_config& cfg) : impl_(std::make_unique<impl>(cfg)) {}

kimmy_classifier::~kimmy_classifier() = default;

std::string kimmy_classifier::detect_language(std::string_view folded) {
  int fr = 0, en = 0;
  for (const auto& w : words_of(folded)) {
    if (french_words().contains(w))
      ++fr;
    if (english_words().contains(w))
      ++en;
    // Elisions are French: d'un, l'architecture, qu'il...
    if (w.size() > 2 && w[1] == '\'' && (w[0] == 'd' || w[0] == 'l' || w[0] == 'j' || w[0] == 'n'
                                         || w[0] == 'm' || w[0] == 's' || w[0] == 't' || w[0] == 'c'))
      ++fr;
  }
  return en > fr ? "en" : "fr";
}

kimmy_analysis kimmy_classifier::analyze(const kimmy_request& req) const {
  const auto& rules = impl_->rules;
  const auto& cfg = impl_->cfg;
  auto nt = normalize_text(req.text);
  const std::string& f = nt.folded;
  kimmy_analysis out;
  auto& p = out.payload;
  p.request_id = req.request_id.empty() ? make_uuid_v7() : req.request_id;
  p.source = req.source.empty() ? "api" : req.source;
  p.raw_input = req.text;
  p.user_id = req.user_id;
  p.language = detect_language(f);
  const bool french = p.language == "fr";

  // -- classify --
  std::map<std::string_view, int> score;
  std::map<std::string_view, std::size_t> trigger_end;
  std::map<std::string_view, std::size_t> trigger_begin;
  std::map<std::string_view, std::size_t> first_strong;  // earliest position of a strong rule
  for (const auto& r : rules) {
    boost::smatch m;
    if (!boost::regex_search(f, m, r.re))
      continue;
    score[r.intent] += r.weight;
    if (r.weight >= 5) {
      auto b = static_cast<std::size_t>(m.position());
      if (!first_strong.contains(r.intent) || b < first_strong[r.intent])
        first_strong[r.intent] = b;
    }
    if (r.trigger) {
      auto e = static_cast<std::size_t>(m.position() + m.length(0));
      auto b = static_cast<std::size_t>(m.position());
      if (!trigger_end.contains(r.intent) || r.weight >= 5) {
        if (!trigger_end.contains(r.intent) || e > trigger_end[r.intent]) {
          trigger_end[r.intent] = e;
          trigger_begin[r.intent] = b;
        }
      }
    }
  }
  auto time = find_time(f);
  auto today = req.now.local_date();
  auto date = find_date(f, today, french);
  if (time && score.contains("calendar_event"))
    score["calendar_event"] += 1;
  // A question about something is not an action on it: interrogatives weaken action intents,
  // except polite requests ("peux-tu ...", "can you ...") which are actions.
  static const boost::regex polite = text_regex(
    "^(?:can you|could you|would you|will you|can u|peux-tu|peux tu|pourrais-tu|pourrais tu|"
    "tu peux|tu pourrais|est-ce que tu peux|est-ce que tu pourrais|please|merci de|svp|stp|"
    "pouvez-vous|pourriez-vous)\\b");
  bool question_form = score.contains("question_simple") && !boost::regex_search(f, polite);
  std::string_view intent = "other";
  int top = 0, second = 0;
  static constexpr std::array<std::string_view, 13> precedence{
    "task_update", "task_create",      "calendar_event", "doc_note",    "doc_structuring",
    "config_change", "client_workflow", "debug_infra",   "dev_workflow", "reporting",
    "question_systeme", "question_simple", "other"};
  for (auto name : precedence) {
    int s = score.contains(name) ? score[name] : 0;
    if (s > top) {
      second = top;
      top = s;
      intent = name;
    } else if (s > second) {
      second = s;
    }
  }
  // Several strong actions: the sentence's main verb comes first ("Remind me to book a
  // meeting" is a reminder, "Set your autonomy level" is a configuration change).
  if (first_strong.size() >= 2) {
    std::string_view earliest = intent;
    std::size_t best = std::string::npos;
    for (auto name : precedence) {  // ties go to the earlier intent in precedence order
      auto it = first_strong.find(name);
      if (it != first_strong.end() && name != "question_simple" && name != "other" && it->second < best) {
        best = it->second;
        earliest = name;
      }
    }
    if (earliest != intent && score[earliest] >= 5) {
      second = top;
      intent = earliest;
      top = score[earliest];
    }
  }
  // A question mentioning tools of an action ("qu'est-ce qu'un webhook ?") stays a question
  // unless the action rule was strong.
  if (question_form && intent != "question_simple" && intent != "question_systeme"
      && intent != "other" && top < 5 && score["question_simple"] >= 2) {
    second = top;
    intent = "question_simple";
    top = score["question_simple"];
  }
  if (top < 2) {
    intent = question_form ? "question_simple" : "other";
  }
  if (intent == "question_simple" && score.contains("question_systeme") && score["question_systeme"] >= 3)
    intent = "question_systeme";
  p.intent = std::string(intent);

  // -- parameters --
  json::object params;
  std::vector<span> cuts;
  if (date) {
    params["due_date"] = format_date(date->date);
    cuts.push_back({date->begin, date->end});
  } else {
    params["due_date"] = nullptr;
  }
  if (time)
    cuts.push_back({time->begin, time->end});
  auto priority = find_priority(f);
  if (priority) {
    params["priority"] = priority->value;
    cuts.push_back(priority->where);
  } else {
    params["priority"] = nullptr;
  }
  auto client = find_client_name(nt);
  params["client_name"] = client ? json::value(*client) : json::value(nullptr);
  json::array tags;
  for (std::size_t pos = f.find('#'); pos != std::string::npos; pos = f.find('#', pos + 1)) {
    auto end = pos + 1;
    while (end < f.size() && ((f[end] >= 'a' && f[end] <= 'z') || (f[end] >= '0' && f[end] <= '9')
                              || f[end] == '_' || f[end] == '-'))
      ++end;
    if (end > pos + 1) {
      tags.emplace_back(nt.original(pos + 1, end));
      cuts.push_back({pos, end});
    }
  }
  params["tags"] = std::move(tags);
  params["title"] = nullptr;
  params["description"] = nullptr;

  auto after_trigger = [&](std::string_view name) -> std::size_t {
    return trigger_end.contains(name) ? trigger_end[name] : 0;
  };
  auto phrase = [&](std::size_t begin, std::size_t end) {
    return capitalize_first(tidy_phrase(original_without(nt, begin, end, cuts)));
  };
  auto q = quoted(f);
  if (!q && p.language == "en")
    q = single_quoted(f);

  if (intent == "task_create" || intent == "calendar_event" || intent == "doc_structuring") {
    std::string title;
    if (q && intent != "doc_structuring") {
      title = nt.original(q->begin, q->end);
    } else {
      std::size_t from = after_trigger(intent);
      // "Rappelle-moi dans deux jours de relancer X": the date sits between trigger and object.
      title = phrase(from, f.size());
      if (intent == "calendar_event" && trigger_end.contains("calendar_event")) {
        // Keep the event noun: "planifie une réunion avec Paul" -> "Réunion avec Paul".
        static const boost::regex noun = text_regex(
          "\\b(?:reunions?|rendez-vous|rdv|meetings?|appointments?|calls?|visio|entretien|dejeuner|"
          "diner|lunch|dinner|standup|stand-up|demo|atelier|workshop|seance|session|sync|point|"
          "evenement|event|conference)\\b");
        boost::smatch m;
        std::string tail = f.substr(trigger_begin["calendar_event"]);
        if (boost::regex_search(tail, m, noun))
          title = phrase(trigger_begin["calendar_event"] + static_cast<std::size_t>(m.position()), f.size());
      }
    }
    if (!title.empty())
      params["title"] = truncate_utf8(title, 480);
    if (intent == "doc_structuring") {
      if (q)
        params["doc_id"] = nt.original(q->begin, q->end);
    }
    if (intent == "calendar_event") {
      if (time && date) {
        char buf[64];
        auto off = req.now.offset.count();
        std::snprintf(buf, sizeof(buf), "%sT%02d:%02d:00%c%02d:%02d", format_date(date->date).c_str(),
                      time->hour, time->minute, off < 0 ? '-' : '+', static_cast<int>(std::abs(off) / 60),
                      static_cast<int>(std::abs(off) % 60));
        params["start"] = buf;
      }
      if (auto d = find_duration_minutes(f))
        params["duration_minutes"] = *d;
    }
  } else if (intent == "doc_note") {
    std::size_t from = after_trigger(intent);
    auto content = tidy_note(original_without(nt, from, f.size(), {}));
    if (q)
      content = nt.original(q->begin, q->end);
    if (!content.empty()) {
      content = capitalize_first(content);
      params["description"] = truncate_utf8(content, 4000);
      // Title: the first words of the note.
      std::string title;
      int words = 0;
      for (std::size_t i = 0; i < content.size() && words < 8; ++i) {
        if (content[i] == ' ')
          ++words;
        if (words < 8)
          title.push_back(content[i]);
      }
      title = tidy_phrase(title);
      params["title"] = truncate_utf8(title.size() < content.size() ? title + "…" : title, 200);
    }
  } else if (intent == "task_update") {
    if (q) {
      params["task_id"] = nt.original(q->begin, q->end);
    } else {
      static const boost::regex ref = text_regex("\\b(?:la tache|ma tache|the task|my task|task|tache)(?: #| n°| no | id )?\\s*([a-z0-9_-]*\\d[a-z0-9_-]*)\\b");
      boost::smatch m;
      if (boost::regex_search(f, m, ref))
        params["task_id"] = nt.original(static_cast<std::size_t>(m.position(std::size_t{1})),
                                        static_cast<std::size_t>(m.position(std::size_t{1}) + m.length(1)));
      else
        params["task_id"] = nullptr;
    }
    static const boost::regex done = text_regex("\\b(?:fait|faite|terminee?|termine|done|complete|completed|finished|finie?|close|closed)\\b");
    if (boost::regex_search(f, done))
      params["status"] = "completed";
  } else if (intent == "client_workflow" || intent == "reporting") {
    static const boost::regex wf = text_regex("\\bworkflow (?:id )?([a-z0-9_-]*\\d[a-z0-9_-]*)\\b");
    boost::smatch m;
    if (boost::regex_search(f, m, wf))
      params["workflow_id"] = nt.original(static_cast<std::size_t>(m.position(std::size_t{1})),
                                          static_cast<std::size_t>(m.position(std::size_t{1}) + m.length(1)));
  }
  p.parameters = std::move(params);

  // -- constraints --
  std::vector<std::string> sensitive_found;
  std::set<std::string> groups;
  for (const auto& [kw, group] : impl_->sensitive) {
    if (contains_word(f, kw) || contains_word(f, kw + "s")) {
      sensitive_found.push_back(kw);
      groups.insert(group);
    }
  }
  for (const auto& s : impl_->suspicious)
    if (f.find(s) != std::string::npos) {
      sensitive_found.push_back(s);
      groups.insert("suspicious");
    }
  std::string sensitivity = "low";
  if (groups.contains("security") || groups.contains("suspicious"))
    sensitivity = "high";
  else if (!groups.empty())
    sensitivity = "medium";
  json::object constraints;
  constraints["sensitivity"] = sensitivity;
  static const boost::regex no_web = text_regex("\\b(?:sans internet|sans recherche web|hors ligne|offline|without (?:the )?web|no web search|without searching)\\b");
  constraints["can_use_web"] = !boost::regex_search(f, no_web);
  p.constraints = std::move(constraints);
  out.sensitive_matches = sensitive_found;

  // -- complexity --
  static const boost::regex multi = text_regex("\\b(?:puis|ensuite|et apres|et aussi|apres ca|and then|then|after that|also|et enfin|finally)\\b|;");
  int strong_intents = 0;
  for (const auto& [name, s] : score)
    if (s >= 5 && name != "question_simple" && name != "other")
      ++strong_intents;
  bool multi_action = boost::regex_search(f, multi) || strong_intents >= 2;
  static const std::set<std::string_view> simple_intents{"task_create", "task_update", "calendar_event",
                                                         "doc_note", "question_simple"};
  auto has = [&](std::string_view key) {
    const auto* v = get_member(p.parameters, key);
    return v && !v->is_null() && !(v->is_string() && v->get_string().empty());
  };
  bool required_ok = true;
  if (intent == "task_create" || intent == "doc_note")
    required_ok = has("title");
  else if (intent == "calendar_event")
    required_ok = has("title") && has("due_date");
  else if (intent == "task_update")
    required_ok = has("task_id");
  if (intent == "other" || words_of(f).size() < 2)
    p.complexity = "unclear";
  else if (multi_action || !simple_intents.contains(intent))
    p.complexity = "complex";
  else if (!required_ok)
    p.complexity = "unclear";
  else
    p.complexity = "simple";

  // -- confidence --
  double conf;
  if (intent == "other") {
    conf = top >= 3 ? 0.6 : 0.3;
  } else {
    conf = 0.55 + 0.06 * std::min(top, 6) + 0.04 * std::min(top - second, 4);
    if (!required_ok)
      conf -= 0.15;
    if (multi_action)
      conf -= 0.05;
    if (words_of(f).size() < 3)
      conf -= 0.1;
  }
  conf = std::clamp(conf, 0.05, 0.98);
  p.confidence = std::round(conf * 100.0) / 100.0;

  // -- suggested tools (from the planning table) --
  if (auto it = cfg.prolex.planning.find(p.intent); it != cfg.prolex.planning.end()) {
    if (!it->second.tool.empty())
      p.suggested_tools.push_back(it->second.tool);
  }

  // -- summary --
  auto title = get_member(p.parameters, "title");
  std::string t = title && title->is_string() ? std::string(title->get_string()) : std::string{};
  std::string due = has("due_date") ? std::string(p.parameters.at("due_date").get_string()) : std::string{};
  std::string excerpt = truncate_utf8(nt.clean, 300);
  std::string summary;
  if (french) {
    if (intent == "task_create" && !t.empty())
      summary = "Créer une tâche « " + t + " »" + (due.empty() ? "" : " pour le " + due) + ".";
    else if (intent == "calendar_event" && !t.empty())
      summary = "Planifier l'événement « " + t + " »" + (due.empty() ? "" : " le " + due) + ".";
    else if (intent == "doc_note" && !t.empty())
      summary = "Créer une note « " + t + " ».";
    else
      summary = "Demande (" + p.intent + ") : " + excerpt;
  } else {
    if (intent == "task_create" && !t.empty())
      summary = "Create a task \"" + t + "\"" + (due.empty() ? "" : " due " + due) + ".";
    else if (intent == "calendar_event" && !t.empty())
      summary = "Schedule the event \"" + t + "\"" + (due.empty() ? "" : " on " + due) + ".";
    else if (intent == "doc_note" && !t.empty())
      summary = "Create a note \"" + t + "\".";
    else
      summary = "Request (" + p.intent + "): " + excerpt;
  }
  while (summary.size() < 10)
    summary += ".";
  p.kimmy_summary = truncate_utf8(summary, 490);

  decide(out);
  return out;
}

void kimmy_classifier::decide(kimmy_analysis& out) const {
  const auto& cfg = impl_->cfg;
  auto& p = out.payload;
  const std::string& intent = p.intent;
  const auto& sensitive_found = out.sensitive_matches;
  std::string sensitivity(get_string(p.constraints, "sensitivity").value_or("low"));
  out.decision = kimmy_decision{};
  out.quick_action_tool.clear();
  // docs/kimmy.md, the escalation rule
  auto& d = out.decision;
  const auto& sens_intents = cfg.system.sensitive_intents;
  bool sensitive_intent = std::find(sens_intents.begin(), sens_intents.end(), p.intent) != sens_intents.end();
  if (p.complexity == "complex")
    d.reasons.emplace_back("complexity is complex");
  if (p.complexity == "unclear")
    d.reasons.emplace_back("complexity is unclear");
  if (p.confidence < 0.80)
    d.reasons.emplace_back("confidence below 0.80");
  if (sensitive_intent)
    d.reasons.emplace_back("intent " + p.intent + " always goes to Prolex");
  for (const auto& kw : sensitive_found)
    d.reasons.push_back("sensitive keyword: " + kw);
  bool escalate = !d.reasons.empty();
  if (!escalate) {
    static const std::set<std::string_view> direct_intents{"task_create", "doc_note", "question_simple"};
    std::string tool;
    if (auto it = cfg.prolex.planning.find(p.intent); it != cfg.prolex.planning.end())
      tool = it->second.tool;
    const auto& quick = cfg.system.allowed_quick_actions;
    bool reversible = intent == "question_simple"
                      || (!tool.empty() && std::find(quick.begin(), quick.end(), tool) != quick.end());
    if (!direct_intents.contains(intent))
      d.reasons.emplace_back("intent " + p.intent + " is not a quick action");
    else if (p.confidence < cfg.system.min_confidence_for_direct_action)
      d.reasons.emplace_back("confidence below min_confidence_for_direct_action");
    else if (!reversible)
      d.reasons.emplace_back("no reversible quick action for this intent");
    else if (cfg.system.kimmy_mode != "quick_actions")
      d.reasons.emplace_back("Kimmy mode is " + cfg.system.kimmy_mode);
    else if (sensitivity != "low")
      d.reasons.emplace_back("sensitivity above low");
    else {
      d.requires_prolex = false;
      d.handled_directly = true;
      d.reasons.emplace_back(intent == "question_simple" ? "simple question answered by Kimmy"
                                                         : "reversible quick action " + tool);
      out.quick_action_tool = tool;
    }
  }
  p.requires_prolex = d.requires_prolex;
}

} // namespace opex::actors
