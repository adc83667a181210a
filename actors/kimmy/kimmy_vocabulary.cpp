// Kimmy's vocabulary (kimmy_vocabulary.hpp).
#include "kimmy_vocabulary.hpp"

#include "text_regex.hpp"

namespace opex::actors::kimmy_detail {

// -- intent rules ---------------------------------------------------------------------------

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


} // namespace opex::actors::kimmy_detail
