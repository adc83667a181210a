// Kimmy's entities (kimmy_entities.hpp).
#include "kimmy_entities.hpp"

#include "date_resolver.hpp"
#include "kimmy_classifier.hpp"
#include "text_regex.hpp"

#include <boost/json/array.hpp>

#include <array>
#include <cstdlib>

namespace opex::actors::kimmy_detail {

namespace json = boost::json;
using namespace std::chrono;

namespace {

using match = boost::smatch;

span span_of(const match& m, int group = 0) {
  return {static_cast<std::size_t>(m.position(group)), static_cast<std::size_t>(m.position(group) + m.length(group))};
}

std::string original_of(const normalized_text& nt, const match& m, int group = 0) {
  auto s = span_of(m, group);
  return nt.original(s.begin, s.end);
}

std::string iso(year_month_day d) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "%04d-%02u-%02u", static_cast<int>(d.year()), static_cast<unsigned>(d.month()),
                static_cast<unsigned>(d.day()));
  return buf;
}

void emails_and_urls(const normalized_text& nt, json::object& params, std::vector<span>& cuts) {
  static const boost::regex email = text_regex(R"([a-z0-9._%+-]+@[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,})");
  static const boost::regex url = text_regex(R"(\bhttps?://[^\s"<>]+)");
  const std::string& f = nt.folded;
  json::array emails, urls;
  for (boost::sregex_iterator it(f.begin(), f.end(), email), end; it != end; ++it) {
    emails.emplace_back(original_of(nt, *it));
    cuts.push_back(span_of(*it));
  }
  for (boost::sregex_iterator it(f.begin(), f.end(), url), end; it != end; ++it) {
    auto u = original_of(nt, *it);
    while (!u.empty() && (u.back() == '.' || u.back() == ',' || u.back() == ')' || u.back() == ';'))
      u.pop_back();
    urls.emplace_back(u);
    cuts.push_back(span_of(*it));
  }
  if (!emails.empty())
    params["emails"] = std::move(emails);
  if (!urls.empty())
    params["urls"] = std::move(urls);
}

/// repo_url and repo from a repository URL or "repo OWNER/NAME"; branch and base.
void repository(const normalized_text& nt, json::object& params, std::vector<span>& cuts) {
  const std::string& f = nt.folded;
  static const boost::regex repo_url = text_regex(
    R"(\b(?:https?://|git@)(github\.com|gitlab\.com|bitbucket\.org)[/:]([a-z0-9_.-]+)/([a-z0-9_.-]+?)(?:\.git)?(?=[\s,;)]|/?$|/\s))");
  static const boost::regex any_git = text_regex(R"(\bhttps?://[^\s"<>]+\.git\b)");
  static const boost::regex short_repo = text_regex(
    R"(\b(?:repo|repos|repository|depot|projet|project|repertoire|^clone|^cloner|^git clone)\s+(?:github\s+)?([a-z0-9_.-]+)/([a-z0-9_.-]+)\b)");
  match m;
  if (boost::regex_search(f, m, repo_url)) {
    auto text = original_of(nt, m);
    params["repo_url"] = text;
    if (m[1].str() == "github.com")
      params["repo"] = original_of(nt, m, 2) + "/" + original_of(nt, m, 3);
  } else if (boost::regex_search(f, m, any_git)) {
    params["repo_url"] = original_of(nt, m);
  } else if (boost::regex_search(f, m, short_repo)) {
    auto repo = original_of(nt, m, 1) + "/" + original_of(nt, m, 2);
    params["repo"] = repo;
    params["repo_url"] = "https://github.com/" + repo;
    cuts.push_back(span_of(m, 1));
  }
  static const boost::regex branch = text_regex(
    R"(\b(?:branche|branch)\s+(?!(?:and|et|then|puis|so|to|on|de|du)\b)([a-z0-9][a-z0-9._/-]*)|\b(?:on|sur|from) (?:the |la )?([a-z0-9][a-z0-9._/-]*) branch\b)");
  static const boost::regex base = text_regex(R"(\b(?:into|onto|vers|sur|against|towards?)\s+(main|master|develop|dev|staging|release[a-z0-9._/-]*)\b)");
  if (boost::regex_search(f, m, branch)) {
    params["branch"] = original_of(nt, m, m[1].matched ? 1 : 2);
    cuts.push_back(span_of(m));
  }
  if (boost::regex_search(f, m, base)) {
    params["base"] = original_of(nt, m, 1);
    cuts.push_back(span_of(m));
  }
}

/// A pull request: "from X into Y" / "de X vers Y" (branch, base), "on OWNER/NAME" (repo),
/// "titled "T"" / "titre « T »" (title).
void pull_request(const normalized_text& nt, json::object& params, std::vector<span>& cuts) {
  const std::string& f = nt.folded;
  static const boost::regex branches = text_regex(
    R"(\b(?:from|de|depuis)\s+(?:la branche |the branch |branch )?(?!(?:fusion|merge|la|le|the|mes|my)\b)([a-z0-9][a-z0-9._/-]*)\s+(?:into|vers|to|onto|sur|dans)\s+([a-z0-9][a-z0-9._/-]*))");
  static const boost::regex on_repo = text_regex(R"(\b(?:on|sur|in|dans|for|pour|against)\s+([a-z0-9_.-]+/[a-z0-9_.-]+)\b)");
  static const boost::regex titled = text_regex(R"re(\b(?:titled|titre|intitulee?|called|named|title(?: it)?)\s*:?\s*"([^"]+)")re");
  // "head hotfix/header, base main", "from feat/dark-mode" (when no "into" follows)
  static const boost::regex head = text_regex(R"(\b(?:head|from|depuis)\s+(?!(?:the|la|le|my|ma)\b)([a-z0-9][a-z0-9._/-]*[a-z0-9])\b)");
  static const boost::regex base = text_regex(R"(\bbase\s+([a-z0-9][a-z0-9._/-]*[a-z0-9])\b)");
  match m;
  if (boost::regex_search(f, m, branches)) {
    params["branch"] = original_of(nt, m, 1);
    params["base"] = original_of(nt, m, 2);
    cuts.push_back(span_of(m));
  }
  if (!params.contains("branch") && boost::regex_search(f, m, head) && m[1].str() != "main" && m[1].str() != "master") {
    params["branch"] = original_of(nt, m, 1);
    cuts.push_back(span_of(m));
  }
  if (!params.contains("base") && boost::regex_search(f, m, base))
    params["base"] = original_of(nt, m, 1);
  if (!params.contains("repo") && boost::regex_search(f, m, on_repo)) {
    params["repo"] = original_of(nt, m, 1);
    params["repo_url"] = "https://github.com/" + original_of(nt, m, 1);
  }
  static const boost::regex quoted_pr = text_regex(R"re(\b(?:pull request|pull-request|merge request|pr)\s+"([^"]+)")re");
  if (boost::regex_search(f, m, titled) || boost::regex_search(f, m, quoted_pr))
    params["title"] = original_of(nt, m, 1);
}

/// client_workflow and reporting without "client X": the capitalised name after "onboard",
/// "for / pour / de / d'", "monthly report" or before "'s".
void client_from_context(const normalized_text& nt, json::object& params) {
  if (const auto* c = params.if_contains("client_name"); c && !c->is_null())
    return;
  static const boost::regex intro = text_regex(
    R"(\b(?:onboarde|onboarder|onboard|for|pour|de|of|rapport mensuel|monthly report|bilan mensuel|signed|signe avec|signer avec)\s+(?:le |la |the |our |notre |nouveau |nouvelle |new )*|\bd')");
  static const boost::regex not_name = text_regex(
    R"(^(?:janvier|fevrier|mars|avril|mai|juin|juillet|aout|septembre|octobre|novembre|decembre|january|february|march|april|may|june|july|august|september|october|november|december|lundi|mardi|mercredi|jeudi|vendredi|monday|tuesday|wednesday|thursday|friday|i|je|api|llm)$)");
  const std::string& f = nt.folded;
  auto name_at = [&](std::size_t pos) {
    std::string name;
    for (int words = 0; pos < f.size() && words < 3; ++words) {
      auto next = std::min(f.find(' ', pos), f.size());
      auto word = nt.original(pos, next);
      while (!word.empty() && is_space_or_punct(word.back()))
        word.pop_back();
      if (word.ends_with("'s") || word.ends_with("’s"))
        word.erase(word.size() - (word.ends_with("'s") ? 2 : 4));
      if (word.empty() || !is_upper_start(word) || std::isdigit(static_cast<unsigned char>(word[0]))
          || boost::regex_match(fold_text(word), not_name))
        break;
      name += (name.empty() ? "" : " ") + word;
      const auto raw = nt.original(pos, next);
      if (raw.back() == ',' || raw.back() == '.' || raw.back() == ':' || raw.back() == '!' || raw.back() == '?'
          || raw.back() == ';' || raw.ends_with("'s"))
        break;
      pos = next + 1;
    }
    return name;
  };
  for (boost::sregex_iterator it(f.begin(), f.end(), intro), end; it != end; ++it)
    if (auto name = name_at(static_cast<std::size_t>(it->position() + it->length())); !name.empty()) {
      params["client_name"] = name;
      return;
    }
  static const boost::regex possessive = text_regex(R"(\b([a-z][a-z0-9-]*)'s (?:monthly|month|report|rapport|onboarding|workflow))");
  match m;
  if (boost::regex_search(f, m, possessive))
    if (auto name = name_at(static_cast<std::size_t>(m.position(1))); !name.empty())
      params["client_name"] = name;
}

/// "1 200 €", "300 euros", "$300", "45.50 USD".
void amounts(const normalized_text& nt, json::object& params) {
  static const boost::regex after = text_regex(
    R"((\d{1,3}(?:[ .]\d{3})*(?:[.,]\d{1,2})?|\d+(?:[.,]\d{1,2})?)\s?(e\b|eur\b|euros?\b|\$|usd\b|dollars?\b|£|gbp\b|livres?\b))");
  static const boost::regex before = text_regex(R"((\$|£)\s?(\d+(?:[ ,]\d{3})*(?:\.\d{1,2})?))");
  const std::string& f = nt.folded;
  json::array out;
  auto currency = [](const std::string& c) -> std::string {
    if (c == "$" || c.starts_with("usd") || c.starts_with("dollar"))
      return "USD";
    if (c == "£" || c.starts_with("gbp") || c.starts_with("livre"))
      return "GBP";
    return "EUR";
  };
  auto number = [](std::string digits, bool comma_decimal) {
    std::string clean;
    for (char c : digits)
      if (c == ',' && comma_decimal)
        clean += '.';
      else if (c != ' ' && c != ',' && !(c == '.' && comma_decimal))
        clean += c;
    return std::strtod(clean.c_str(), nullptr);
  };
  for (boost::sregex_iterator it(f.begin(), f.end(), after), end; it != end; ++it) {
    // "€" folds to "e": an "e" after a number is a euro only where the text has the sign.
    if ((*it)[2].str() == "e" && original_of(nt, *it, 2).find("€") == std::string::npos)
      continue;
    const std::string digits = (*it)[1].str();
    // "1.200,50 €" and "12,5 €": the comma is the decimal mark; "1 200 €": spaces group.
    const bool comma_decimal = digits.find(',') != std::string::npos;
    out.push_back(json::object{{"value", number(digits, comma_decimal)}, {"currency", currency((*it)[2].str())}});
  }
  for (boost::sregex_iterator it(f.begin(), f.end(), before), end; it != end; ++it)
    out.push_back(json::object{{"value", number((*it)[2].str(), false)}, {"currency", currency((*it)[1].str())}});
  if (!out.empty())
    params["amounts"] = std::move(out);
}

/// Capitalised names after "avec" / "with" / "contact": "avec Paul et Marie" -> [Paul, Marie].
void people(const normalized_text& nt, json::object& params) {
  static const boost::regex intro = text_regex(R"(\b(?:avec|with|contact(?: is| est| ?:)?|aupres de|for|pour) )");
  const std::string& f = nt.folded;
  json::array names;
  for (boost::sregex_iterator it(f.begin(), f.end(), intro), end; it != end; ++it) {
    auto pos = static_cast<std::size_t>(it->position() + it->length());
    std::string name;  // consecutive capitalised words: one name ("Jeanne Martin")
    auto flush = [&] {
      if (!name.empty())
        names.emplace_back(name);
      name.clear();
    };
    while (pos < f.size()) {
      auto next = std::min(f.find(' ', pos), f.size());
      auto word = nt.original(pos, next);
      while (!word.empty() && is_space_or_punct(word.back()))
        word.pop_back();
      const std::string folded_word = f.substr(pos, next - pos);
      static const std::array<std::string_view, 6> joiners{"et", "and", "&", "ou", "or", "de"};
      if (std::find(joiners.begin(), joiners.end(), folded_word) != joiners.end()) {
        flush();
        pos = next + 1;
        continue;
      }
      // A name: a capitalised word that is not the client keyword and not a weekday.
      static const boost::regex not_name = text_regex(
        R"(^(?:client|cliente|customer|le|la|les|the|lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche|monday|tuesday|wednesday|thursday|friday|saturday|sunday|demain|tomorrow|i|je)$)");
      if (!is_upper_start(word) || std::isdigit(static_cast<unsigned char>(word[0])) || boost::regex_match(folded_word, not_name))
        break;
      if (it->str().starts_with("for") || it->str().starts_with("pour"))
        break;  // "pour Umbrella" names a client, not a person
      name += (name.empty() ? "" : " ") + word;
      const auto raw = nt.original(pos, next);
      if (!raw.empty() && (raw.back() == ',' || raw.back() == '.' || raw.back() == ':'))
        flush();
      pos = next + 1;
    }
    flush();
  }
  if (!names.empty())
    params["people"] = std::move(names);
}

/// The month's number (1..12) of a French or English month name, 0 for none.
unsigned month_number(const std::string& name) {
  static constexpr std::array<std::string_view, 12> fr{"janvier", "fevrier", "mars", "avril", "mai", "juin",
                                                       "juillet", "aout", "septembre", "octobre", "novembre", "decembre"};
  static constexpr std::array<std::string_view, 12> en{"january", "february", "march", "april", "may", "june",
                                                       "july", "august", "september", "october", "november", "december"};
  for (unsigned i = 0; i < 12; ++i)
    if (fr[i] == name || en[i] == name)
      return i + 1;
  return 0;
}

/// A report period given by its two days: "du 1er au 10 novembre", "from November 1 to
/// November 15", "between 3 and 9 October". A month after today's, without a year, is last
/// year's (a report is about the past). False when the text names no such range.
bool date_range(const normalized_text& nt, year_month_day today, json::object& params, std::vector<span>& cuts) {
  static const std::string month_re =
    "(janvier|fevrier|mars|avril|mai|juin|juillet|aout|septembre|octobre|novembre|decembre|january|february|"
    "march|april|may|june|july|august|september|october|november|december)";
  static const std::string day_re = R"((\d{1,2})(?:er|st|nd|rd|th)?)";
  // day-first: "du 1er (novembre) au 10 novembre (2026)", "between 3 and 9 October"
  static const boost::regex day_first = text_regex(
    R"(\b(?:du|from|between|entre le|entre)\s+)" + day_re + "(?:\\s+" + month_re + R"()?\s+(?:au|to|until|through|and|et le|et|-)\s+(?:le\s+)?)"
    + day_re + "\\s+" + month_re + R"((?:\s+(\d{4}))?\b)");
  // month-first: "from November 1 to (November) 15 (, 2026)"
  static const boost::regex month_first = text_regex(
    R"(\b(?:from|between)\s+)" + month_re + "\\s+" + day_re + R"(\s+(?:to|until|through|and|-)\s+(?:)" + month_re
    + R"(\s+)?)" + day_re + R"((?:,?\s+(\d{4}))?\b)");
  const std::string& f = nt.folded;
  match m;
  unsigned d1 = 0, d2 = 0, m1 = 0, m2 = 0;
  std::string y;
  if (boost::regex_search(f, m, day_first)) {
    d1 = std::stoi(m[1].str());
    m2 = month_number(m[4].str());
    m1 = m[2].matched ? month_number(m[2].str()) : m2;
    d2 = std::stoi(m[3].str());
    y = m[5].str();
  } else if (boost::regex_search(f, m, month_first)) {
    m1 = month_number(m[1].str());
    d1 = std::stoi(m[2].str());
    m2 = m[3].matched ? month_number(m[3].str()) : m1;
    d2 = std::stoi(m[4].str());
    y = m[5].str();
  } else {
    return false;
  }
  year yr = y.empty() ? today.year() : year{std::stoi(y)};
  if (y.empty() && month{m1} > today.month())
    yr -= years{1};
  const year_month_day first{yr, month{m1}, day{d1}};
  const year_month_day last{m2 < m1 ? yr + years{1} : yr, month{m2}, day{d2}};
  if (!first.ok() || !last.ok() || sys_days{last} < sys_days{first})
    return false;
  params["period"] = "custom";
  params["period_start"] = iso(first);
  params["period_end"] = iso(last);
  cuts.push_back(span_of(m));
  return true;
}

/// A report period: the month or week the request names.
void period(const normalized_text& nt, year_month_day today, json::object& params, std::vector<span>& cuts) {
  static const boost::regex re = text_regex(
    R"(\b((?:(?:du mois d'|du mois de|en|d'|de|for|in|of|pour|the|covering|couvrant)\s?|(?<=, )|(?=[a-z]+ \d{4}))(janvier|fevrier|mars|avril|mai|juin|juillet|aout|septembre|octobre|novembre|decembre|january|february|march|april|june|july|august|september|october|november|december)(?: (\d{4}))?|le mois dernier|du mois dernier|last month|previous month|mois precedent|ce mois-ci|ce mois ci|du mois|this month|ce mois|la semaine derniere|de la semaine derniere|last week|previous week|cette semaine|this week)\b)");
  const std::string& f = nt.folded;
  match m;
  if (!boost::regex_search(f, m, re))
    return;
  const std::string what = m[1].str();
  year_month_day first{today.year(), today.month(), day{1}};
  year_month_day last{};
  const bool week = what.find("semaine") != std::string::npos || what.find("week") != std::string::npos;
  if (week) {
    const sys_days t{today};
    const auto monday = t - (weekday{t} - Monday);
    const auto start = what.find("derniere") != std::string::npos || what.find("last") != std::string::npos
                         || what.find("previous") != std::string::npos ? monday - days{7} : monday;
    first = year_month_day{start};
    last = year_month_day{start + days{6}};
  } else {
    if (m[2].matched) {
      const unsigned index = month_number(m[2].str());
      year y = m[3].matched ? year{std::atoi(m[3].str().c_str())} : today.year();
      if (!m[3].matched && month{index} > today.month())
        y -= years{1};  // a report is about a month past: "en décembre" in November is last December
      first = year_month_day{y, month{index}, day{1}};
    } else if (what.find("dernier") != std::string::npos || what.find("last") != std::string::npos
               || what.find("previous") != std::string::npos || what.find("precedent") != std::string::npos) {
      first = year_month_day{sys_days{first} - days{1}};
      first = year_month_day{first.year(), first.month(), day{1}};
    }
    last = year_month_day{year_month_day_last{first.year(), month_day_last{first.month()}}};
    params["month"] = static_cast<std::int64_t>(static_cast<unsigned>(first.month()));
    params["year"] = static_cast<std::int64_t>(static_cast<int>(first.year()));
  }
  params["period"] = "custom";
  params["period_start"] = iso(first);
  params["period_end"] = iso(last);
  cuts.push_back(span_of(m));
}

/// client_workflow: "le workflow relances", "the reminders workflow".
void workflow_name(const normalized_text& nt, json::object& params) {
  static const boost::regex quoted_name = text_regex(R"re("\s?([a-z][a-z0-9_-]{2,})\s?"\s+workflow\b|\bworkflow\s+"\s?([a-z][a-z0-9_-]{2,})\s?")re");
  static const boost::regex fr = text_regex(R"(\bworkflow (?:de |d'|des |du |nomme |appele |called |named )?"? ?([a-z][a-z0-9_-]{2,})\b)");
  static const boost::regex en = text_regex(R"re(\b(?:the |a |our )"? ?([a-z][a-z0-9_-]{2,})"? workflow\b)re");
  static const boost::regex named = text_regex(R"(\b(?:lance|lancer|run|kick off|start|declenche|execute)\s+(?:les |the |mes |my )?(relances|reminders|impayes|overdue-invoices)\b)");
  static const boost::regex stop = text_regex(R"(^(?:pour|for|client|customer|avec|with|the|les|mensuel|monthly|n8n|id|sur|on)$)");
  const std::string& f = nt.folded;
  if (match q; boost::regex_search(f, q, quoted_name)) {  // the "payment-chaser" workflow
    params["workflow_name"] = original_of(nt, q, q[1].matched ? 1 : 2);
    return;
  }
  for (const auto* re : {&fr, &en, &named}) {
    match m;
    if (boost::regex_search(f, m, *re) && !boost::regex_match(m[1].str(), stop)
        && m[1].str().find_first_of("0123456789") == std::string::npos) {
      params["workflow_name"] = original_of(nt, m, 1);
      return;
    }
  }
}

/// question_simple: what follows a search verb.
void search_query(const normalized_text& nt, json::object& params) {
  static const boost::regex re = text_regex(
    R"(\b(?:cherche|recherche|chercher|rechercher|fais une recherche|search|look up|google|find|trouve|trouver|regarde|regarder|look|check|looking up|searching for|googling|va voir|vas voir|dig up)(?:[- ]moi| me| it up)?(?= (?:sur le web|sur internet|en ligne|online|on the web|on google)|(?<!regarde)(?<!regarder)(?<!look)(?<!check)(?<!voir)\b)(?: (?:sur le web|sur internet|en ligne|online|on the web|on google|the web|internet|web|for|pour|des infos sur|des informations sur|information on|info on|about|sur))*\s+(.+))");
  match m;
  const std::string& f = nt.folded;
  if (!boost::regex_search(f, m, re))
    return;
  std::string q;
  if (auto quote = quoted(f); quote && quote->begin >= static_cast<std::size_t>(m.position(1)))
    q = nt.original(quote->begin, quote->end);
  else  // as said, articles kept: "les horaires de la déchetterie"
    q = tidy_note(original_of(nt, m, 1));
  static const boost::regex tail = text_regex(R"([\s,.!?]*(?:\b(?:stp|svp|please|pour moi|for me|merci|thanks)\b[\s,.!?]*)*$)");
  q = boost::regex_replace(q, tail, "");
  if (q.size() >= 2)
    params["query"] = truncate_utf8(q, 400);
}

/// An existing event the text points at: "ma réunion de jeudi", "my meeting on Thursday",
/// "the call with Paul": its date and/or whom it is with; nothing without either.
void event_reference(const normalized_text& nt, year_month_day today, json::object& params) {
  static const boost::regex event = text_regex(
    R"(\b(ma|mon|notre|my|our|la|le|the) (?:reunion|rendez-vous|rdv|meeting|call|appel|appointment|demo|visio|entretien|point)s?\b([^,.;:!?]{0,60}))");
  // After "la" / "the" the event needs its connector ("la réunion de jeudi", "the call with
  // Paul"): "préparer la démo demain" dates the task, not an event.
  static const boost::regex connector = text_regex(R"(^ (?:de|du|d'|of|on|avec|with|prevue?|scheduled|planned)\b)");
  match m;
  if (!boost::regex_search(nt.folded, m, event))
    return;
  const auto article = m[1].str();
  if ((article == "la" || article == "le" || article == "the") && !boost::regex_search(m[2].str(), connector))
    return;
  const auto tail_begin = static_cast<std::size_t>(m.position(std::size_t{2}));
  const std::string tail = m[2].str();
  json::object ref{{"date", nullptr}, {"with", nullptr}};
  const bool french = kimmy_classifier::detect_language(nt.folded) == "fr";
  if (auto d = find_date(tail, today, french))
    ref["date"] = iso(d->date);
  static const boost::regex with = text_regex(R"(\b(?:avec|with) ([^ ]+(?: [^ ]+)?))");
  match w;
  if (boost::regex_search(tail, w, with)) {
    std::string name;
    auto pos = tail_begin + static_cast<std::size_t>(w.position(std::size_t{1}));
    const auto end = pos + static_cast<std::size_t>(w.length(1));
    while (pos < end) {
      auto next = std::min(nt.folded.find(' ', pos), end);
      auto word = nt.original(pos, next);
      if (!is_upper_start(word))
        break;
      name += (name.empty() ? "" : " ") + word;
      pos = next + 1;
    }
    if (!name.empty())
      ref["with"] = name;
  }
  if (!ref["date"].is_null() || !ref["with"].is_null())
    params["event_ref"] = std::move(ref);
}

} // namespace

void add_entities(const normalized_text& nt, std::string_view intent, year_month_day today, json::object& params,
                  std::vector<span>& cuts) {
  emails_and_urls(nt, params, cuts);
  repository(nt, params, cuts);
  amounts(nt, params);
  people(nt, params);
  if (auto d = find_duration(nt.folded)) {
    params["duration_minutes"] = d->minutes;
    cuts.push_back({d->begin, d->end});
  }
  if (!date_range(nt, today, params, cuts))
    period(nt, today, params, cuts);
  if (intent == "client_workflow" || intent == "reporting") {
    workflow_name(nt, params);
    client_from_context(nt, params);
  }
  if (intent == "dev_workflow")
    pull_request(nt, params, cuts);
  if (intent == "question_simple")
    search_query(nt, params);
  if (intent == "task_create" || intent == "doc_note" || intent == "question_simple")
    event_reference(nt, today, params);
}

std::string find_reference(const normalized_text& nt, item_kind kind, const std::optional<span>& quote) {
  if (quote)
    return nt.original(quote->begin, quote->end);
  const std::string& f = nt.folded;
  const bool task = kind == item_kind::task;
  static const boost::regex last_task = text_regex(R"(\b(?:la derniere tache|ma derniere tache|the last task|my last task|the latest task|my latest task|the most recent task|my most recent task|the newest task|la tache la plus recente)\b)");
  static const boost::regex first_task = text_regex(R"(\b(?:la premiere tache|the first task|my first task|ma premiere tache)\b)");
  static const boost::regex last_note = text_regex(R"(\b(?:la derniere note|ma derniere note|the last note|my last note|the latest note)\b)");
  match m;
  if (boost::regex_search(f, m, task ? last_task : last_note))
    return "@last";
  if (task && boost::regex_search(f, m, first_task))
    return "@first";
  static const std::string noun_task = "(?:tache|task|todo)", noun_note = "(?:notes?|document|doc|compte rendu)";
  const std::string stop =
    R"((?=\s+(?:comme|as|est|is|en|passe|to|a|au|pour|c'est|into|par|by|avec|with|in|du|sur|peut|can|could|doit|must|should|needs?|are|sont)\b|\s*[,.;!?:]|$))";
  static const boost::regex after_task = text_regex(R"(\b(?:la|ma|cette|the|my|that) )" + noun_task + R"(\s+(?:(?:du|de la|des)\s+|de l')?(?!(?:est|is|comme|as|de|du)\b)(.{2,80}?))" + stop);
  static const boost::regex after_note = text_regex(R"(\b(?:la|ma|cette|the|my|that|le|mon|ce|this) )" + noun_note + R"(\s+(?!(?:est|is|comme|as|de|du)\b)(.{2,80}?))" + stop);
  static const boost::regex before_task = text_regex(R"(\b(?:the|my|that|la|ma) ((?:[a-z0-9'-]+ ){0,4}[a-z0-9'-]+) )" + noun_task + R"(\b)");
  static const boost::regex before_note = text_regex(
    R"(\b(?:the|my|that|la|ma) ((?:(?!(?:the|my|that|la|ma)\b)[a-z0-9'-]+ ){0,4}[a-z0-9'-]+) )" + noun_note + R"(\b)");
  static const boost::regex marked = text_regex(
    R"(^(?:marque|mark|coche|check off|tick off|termine|complete|finish|close|ferme|set|passe|mets|repousse|reporte|decale|move|postpone|reschedule)\s+(?:(?:the|my)\s+(?=\S+\s+(?:call|task)\b))?(?!(?:la|ma|the|my|cette|that)\s)(.{2,80}?)(?=\s+(?:comme|as|to|en|a|au|for|pour)\b))");
  static const boost::regex restructured = text_regex(
    R"(^(?:(?:could|can|would) you (?:please )?|please |peux-tu |tu peux |pourrais-tu )?(?:restructure|reorganise|reorganize|reformat|reformate|rewrite|reecris|clean up|tidy up|remets au propre|mets au propre|structure|restructurer|reorganiser|reorder|reordonne|sort|trie|range)\s+(?!(?:la|ma|the|my|cette|that|une|a|an|un|mes|my|les|this|ce|ces)\s)(.{2,80}?)(?=\s+(?:with|avec|into|en|in|par|by|so|pour|to|sous|afin|as|comme)\b|\s*[,.;!?:]|$))");
  static const boost::regex pushed_back = text_regex(R"(\b(?:push|move|bump)\s+(?:the |my |that )?(.{2,60}?)\s+back\b)");
  static const boost::regex in_brackets = text_regex(R"(\b(?:notes?|document|doc)\s*\(([^)]{2,60})\))");
  static const boost::regex done_for = text_regex(R"(\bc'est (?:fait|bon|ok) pour (.{2,80}?)(?=\s*[,.;!?]|$))");
  static const boost::regex ticked = text_regex(
    R"(\b(?:cocher|coche|tick off|check off|marquer)\s+(?!(?:la|ma|the|my|cette|that)\s)(.{2,80}?)(?=\s+(?:comme|as)\b|\s*[?.!,;]|$))");
  static const boost::regex not_ref = text_regex(R"(^(?:est|is|faite?|done|de|la|le|the|suivante|next|prochaine|ca|it|this|cette|task|tache|todo)$)");
  for (const auto* re : task ? std::vector<const boost::regex*>{&after_task, &before_task, &marked, &done_for, &pushed_back, &ticked}
                             : std::vector<const boost::regex*>{&in_brackets, &after_note, &before_note, &restructured}) {
    if (boost::regex_search(f, m, *re) && !boost::regex_match(m[1].str(), not_ref)) {
      auto ref = tidy_phrase(original_of(nt, m, 1));
      while (!ref.empty() && (ref.front() == '\'' || ref.front() == '"'))
        ref.erase(0, 1);
      while (!ref.empty() && (ref.back() == '\'' || ref.back() == '"'))
        ref.pop_back();
      return ref;
    }
  }
  return {};
}

} // namespace opex::actors::kimmy_detail
