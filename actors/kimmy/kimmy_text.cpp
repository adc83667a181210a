// Kimmy's text helpers (kimmy_text.hpp).
#include "kimmy_text.hpp"

#include "text_regex.hpp"

#include <algorithm>
#include <array>
#include <map>
#include <set>

namespace opex::actors::kimmy_detail {

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

/// Drops trailing punctuation and emoji (a 4-byte UTF-8 character, U+FE0F, the ✅ ❤ blocks).
static void trim_end(std::string& t) {
  for (bool cut = true; cut;) {
    cut = false;
    while (!t.empty() && is_space_or_punct(t.back()))
      t.pop_back();
    const auto lead = t.find_last_of("\xF0\xEF\xE2");
    if (lead == std::string::npos || t.size() - lead > 4)
      continue;
    const bool emoji = (t[lead] == '\xF0' && t.size() - lead == 4)
                       || (t.size() - lead == 3
                           && (t.compare(lead, 3, "\xEF\xB8\x8F") == 0 || t.compare(lead, 2, "\xE2\x9C") == 0
                               || t.compare(lead, 2, "\xE2\x9D") == 0));
    if (emoji) {
      t.resize(lead);
      cut = true;
    }
  }
}

/// Removes leading filler words and trailing punctuation/filler from an extracted phrase.
std::string tidy_phrase(std::string s) {
  static const std::array<std::string_view, 52> lead{
    "il faut que je pense à ", "il faut que je ", "il faut ", "il faudra ", "penser à ", "i need to ", "je dois ", "pr ",
    "pour ", "de ", "d'", "d’", "à ", "a ", "to ", "that ", "qui ", "que ", "me ", "moi ", "nous ",
    ": ", "- ", "une ", "un ", "la ", "le ", "les ", "l'", "l’", "an ", "the ", "about ", "sur ",
    "consistant à ", "afin de ", "in order to ", "so that ", "for ", "of ", "with me ", "avec moi ",
    "tâche ", "task ", "todo ", "note ", "s'il te plaît ", "please ", "stp ", "svp ", "aussi ", "also "};
  static const std::array<std::string_view, 20> tail{
    " can you", " could you", " tu peux", " peux-tu", " pls", " plz",
    " c'est important", " c’est important", " s'il te plaît", " s’il te plaît", " please", " stp",
    " svp", " merci", " thanks", " pour moi", " for me", " à faire", " asap", " stp merci"};
  auto trim = [](std::string& t) {
    while (!t.empty() && is_space_or_punct(t.front()) && t.front() != '\'' )
      t.erase(t.begin());
    trim_end(t);
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
  for (char c : s) {
    if (c == ' ' && !out.empty() && out.back() == ' ')
      continue;
    if ((c == ',' || c == '.') && out.size() >= 2 && out.back() == ' ' && (out[out.size() - 2] == ',' || out[out.size() - 2] == '.'))
      continue;  // "quote, , due" left by two cuts
    if (c == ',' && !out.empty() && out.back() == ',')
      continue;
    out.push_back(c);
  }
  // Drop a dangling connector left at the end by a cut ("... le", "... for").
  static const std::array<std::string_view, 21> dangling{" pour", " le", " la", " de", " for", " by", " on",
                                                         " avant", " d'ici", " the", " at", " à", " with",
                                                         " avec", " en", " and", " et", " of", " du", " des", " due"};
  for (bool cut = true; cut;) {  // "Book the venue with" once "high priority" is taken
    cut = false;
    while (!out.empty() && is_space_or_punct(out.back()))
      out.pop_back();
    for (auto d : dangling)
      if (out.size() > d.size() && out.ends_with(d)) {
        out.erase(out.size() - d.size());
        cut = true;
      }
  }
  // What names nothing: "Nouvelle note, merci", "could you add a task for me?", "add something".
  static const std::set<std::string> no_title{"merci", "thanks", "thank you", "please", "stp", "svp", "pls", "plz",
                                                "thx", "for me", "pour moi", "quick one", "merci bcp", "pr", "pour",
                                                "for", "me", "moi", "to", "de", "something", "quelque chose",
                                                "un truc", "a thing", "anything",
                                                "s'il te plait", "s'il vous plait", "merci beaucoup"};
  if (no_title.contains(fold_text(out)))
    return {};
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


std::optional<found_span> find_priority(std::string_view folded) {
  struct p {
    const char* re;
    const char* value;
  };
  static const std::vector<std::pair<boost::regex, std::string>> rules = [] {
    std::vector<p> raw{
      {"\\b(?:pas urgent|pas urgente|non urgent|not urgent|no rush|sans urgence|pas presse|"
       "basse priorite|priorite basse|faible priorite|low priority|low-priority|low prio|prio basse|quand tu as le temps|"
       "quand tu auras le temps|quand tu peux|when you have time|when you get a chance|whenever)\\b",
       "low"},
      {"\\b(?:urgent|urgente|urgemment|en urgence|d'urgence|asap|au plus vite|des que possible|"
       "immediatement|immediately|right away|tout de suite|critique|critical)\\b",
       "urgent"},
      {"\\b(?:haute priorite|priorite haute|priorite elevee|high priority|high-priority|"
       "top priority|prioritaire|high prio|prio haute|important|importante|c'est important|it's important)\\b",
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
      auto e = b + static_cast<std::size_t>(m.length(0));
      // "Low priority, no rush": a second phrase of the same value right after goes too.
      boost::smatch next;
      while (boost::regex_search(text.cbegin() + static_cast<std::ptrdiff_t>(e), text.cend(), next, re)) {
        const auto nb = e + static_cast<std::size_t>(next.position());
        if (text.find_first_not_of(" ,.;", e) != nb)
          break;
        e = nb + static_cast<std::size_t>(next.length(0));
      }
      return found_span{{b, e}, value};
    }
  }
  // "set the priority of the first task to high", "priorité à haute"
  static const boost::regex set_to = text_regex(
    "\\b(?:priority|priorite|prio)\\b(?:\\s+[\\w']+){0,8}?\\s+(?:to|a|en|sur|:)\\s+"
    "(high|haute|elevee|low|basse|faible|medium|moyenne|normale|urgent|urgente)\\b");
  boost::smatch m;
  if (boost::regex_search(text, m, set_to)) {
    static const std::map<std::string, std::string> values{
      {"high", "high"},   {"haute", "high"},     {"elevee", "high"},   {"low", "low"},         {"basse", "low"},
      {"faible", "low"},  {"medium", "medium"},  {"moyenne", "medium"}, {"normale", "medium"}, {"urgent", "urgent"},
      {"urgente", "urgent"}};
    auto b = static_cast<std::size_t>(m.position());
    return found_span{{b, b + static_cast<std::size_t>(m.length(0))}, values.at(m[1].str())};
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
    "\\b(?:client|cliente|customer|clients|customers)(?: (?:nomme|nommee|named|called|appele|appelee))?(?: ?[:,])? ");
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
  // "Globex's client report", "Initech's monthly report"
  // "Globex's client report", "Pied Piper's monthly report", "Blue Harbor Logistics' report":
  // the capitalised words before the possessive.
  static const boost::regex possessive = text_regex(
    "\\b((?:[a-z0-9-]+ ){0,3}[a-z0-9-]+)(?:'s|') (?:client |customer |monthly )?report\\b");
  boost::smatch m;
  if (boost::regex_search(text, m, possessive)) {
    auto words = nt.original(static_cast<std::size_t>(m.position(1)), static_cast<std::size_t>(m.position(1) + m.length(1)));
    std::string name;
    for (std::size_t end = words.size(); end > 0;) {  // from the possessive back, while capitalised
      auto begin = words.rfind(' ', end - 1);
      begin = begin == std::string::npos ? 0 : begin + 1;
      auto word = words.substr(begin, end - begin);
      static const std::set<std::string> verbs{"run", "generate", "get", "send", "create", "make", "prepare",
                                               "pull", "start", "launch", "lance", "genere", "prepare", "fais",
                                               "envoie", "produce", "build", "share", "email", "show"};
      if (!is_upper_start(word) || verbs.contains(fold_text(word)))
        break;
      name = word + (name.empty() ? "" : " " + name);
      if (begin == 0)
        break;
      end = begin - 1;
    }
    if (!name.empty())
      return name;
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


/// A note's title before its colon, without "called" / "intitulée" and a trailing "with".
std::string titled_head(std::string head) {
  static const boost::regex lead("^(?:(?:une |a )?note )?(?:called|titled|named|intitul(?:e|é)e?|nomm(?:e|é)e?|appel(?:e|é)e?)\\s+",
                                 text_regex_flags | boost::regex::icase);
  static const boost::regex tail("\\s+(?:with|avec|contenant|containing)\\s*$", text_regex_flags | boost::regex::icase);
  head = boost::regex_replace(head, lead, "");
  head = boost::regex_replace(head, tail, "");
  return tidy_phrase(head);
}

} // namespace opex::actors::kimmy_detail
