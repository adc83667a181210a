// The knowledge index over SQLite FTS5 (knowledge_fts.hpp).
#include "opex/connectors/knowledge_fts.hpp"

#include "opex/connectors/sqlite_db.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <cctype>
#include <mutex>
#include <set>

namespace opex::connectors {

namespace {

/// Words of a question worth searching for: lower-case, 3 letters or more, no stop word;
/// a final s (plural), y ("risky"), e ("coûte") or er ("coûter") is dropped (the search is by
/// prefix).
std::vector<std::string> query_terms(std::string_view question) {
  static const std::set<std::string, std::less<>> stop{
    "les", "des", "une", "est", "sont", "que", "qui", "quoi", "quel", "quelle", "quels", "quelles", "pour",
    "par", "avec", "dans", "sur", "combien", "comment", "peux", "peut", "tu", "vous", "ton", "tes", "ta",
    "mon", "mes", "nous", "fais", "faire", "fait", "the", "and", "are", "what", "which", "how", "many", "much",
    "can", "you", "your", "does", "there", "their", "this", "that", "for", "with", "from", "have", "has",
    "est-ce", "qu'est-ce", "maximum", "max", "opex", "besides", "moi", "me", "ai", "aux", "du", "de", "le",
    "la", "un", "il", "elle", "on", "is", "of", "to", "in", "do", "it", "its", "an", "a", "ou", "et", "or"};
  std::vector<std::string> out;
  std::string word;
  auto flush = [&] {
    if (word.size() >= 3 && !stop.contains(word)) {
      if (word.size() > 4 && (word.back() == 's' || word.back() == 'y'))
        word.pop_back();  // "tools" finds "tool", "risky" finds "risk"
      else if (word.size() > 5 && word.ends_with("er"))
        word.resize(word.size() - 2);  // "coûter" finds "coût", "dépenser" "dépenses"
      else if (word.size() > 4 && word.back() == 'e')
        word.pop_back();  // "coute" finds "coût" (folded "cout"), "limite" "limit"
      if (std::find(out.begin(), out.end(), word) == out.end())
        out.push_back(word);
    }
    word.clear();
  };
  for (unsigned char c : question) {
    if (std::isalnum(c) || c >= 0x80 || c == '_')
      word.push_back(static_cast<char>(std::tolower(c)));
    else
      flush();
  }
  flush();
  return out;
}

std::string fts_phrase(const std::string& term) {
  std::string q = "\"";
  for (char c : term)
    q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"*";
}

class fts_knowledge_index final : public knowledge_index {
public:
  explicit fts_knowledge_index(sqlite3* db) : db_(db) {}
  ~fts_knowledge_index() override { sqlite3_close(db_); }

  void add(const std::vector<knowledge_document>& documents) override {
    std::lock_guard lock(mutex_);
    sqlite3_exec(db_, "BEGIN", nullptr, nullptr, nullptr);  // one transaction: hundreds of sections
    try {
      sqlite_statement del(db_, "DELETE FROM knowledge WHERE id = ?1");
      sqlite_statement ins(db_, "INSERT INTO knowledge (id, title, body, source, collection)"
                                " VALUES (?1, ?2, ?3, ?4, ?5)");
      for (const auto& d : documents) {
        del.bind(1, d.id);
        del.step();
        del.reset();
        ins.bind(1, d.id);
        ins.bind(2, d.title);
        ins.bind(3, d.body);
        ins.bind(4, d.source);
        ins.bind(5, d.collection);
        ins.step();
        ins.reset();
      }
    } catch (...) {
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
      throw;
    }
    sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr);
  }

  std::vector<knowledge_hit> search(std::string_view question, std::size_t limit,
                                    std::string_view collection) const override {
    const auto terms = query_terms(question);
    if (terms.empty())
      return {};
    std::lock_guard lock(mutex_);
    std::string match;
    for (const auto& t : terms)
      match += (match.empty() ? "" : " OR ") + fts_phrase(t);
    std::vector<knowledge_hit> hits;
    try {
      sqlite_statement st(db_, "SELECT rowid, id, title, body, source, bm25(knowledge, 0.0, 3.0, 1.0, 0.0, 0.0),"
                               " collection FROM knowledge WHERE knowledge MATCH ?1 AND (?3 = '' OR collection = ?3)"
                               " ORDER BY 6 LIMIT ?2");
      st.bind(1, match);
      st.bind(2, static_cast<std::int64_t>(limit * 4));  // re-ranked below, then cut
      st.bind(3, collection);
      std::vector<std::int64_t> rowids;
      while (st.step()) {
        rowids.push_back(st.column_int(0));
        hits.push_back({{st.column_text(1), st.column_text(2), st.column_text(3), st.column_text(4), st.column_text(6)},
                        st.column_double(5), 0, terms.size(), terms});
      }
      for (const auto& t : terms) {  // how many of the question's words each hit holds
        sqlite_statement one(db_, "SELECT rowid FROM knowledge WHERE knowledge MATCH ?1");
        one.bind(1, fts_phrase(t));
        while (one.step())
          for (std::size_t i = 0; i < rowids.size(); ++i)
            hits[i].matched_terms += rowids[i] == one.column_int(0) ? 1 : 0;
      }
    } catch (const std::exception&) {
      return {};  // a question FTS5 cannot parse matches nothing
    }
    // The documents holding the most of the question's words first, BM25 among equals.
    std::stable_sort(hits.begin(), hits.end(), [](const knowledge_hit& a, const knowledge_hit& b) {
      return a.matched_terms > b.matched_terms;
    });
    if (hits.size() > limit)
      hits.resize(limit);
    return hits;
  }

private:
  sqlite3* db_;
  mutable std::mutex mutex_;
};

} // namespace

result<std::unique_ptr<knowledge_index>> open_knowledge_index() {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(":memory:", &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr)
      != SQLITE_OK) {
    sqlite3_close(db);
    return make_error(error_code::internal_error, "knowledge index: cannot open an in-memory database");
  }
  char* message = nullptr;
  if (sqlite3_exec(db,
                   "CREATE VIRTUAL TABLE knowledge USING fts5(id UNINDEXED, title, body, source UNINDEXED,"
                   " collection UNINDEXED, tokenize = 'unicode61 remove_diacritics 2')",
                   nullptr, nullptr, &message)
      != SQLITE_OK) {
    std::string why = message ? message : "unknown";
    sqlite3_free(message);
    sqlite3_close(db);
    return make_error(error_code::internal_error, "knowledge index: SQLite FTS5 is not available: " + why);
  }
  return std::unique_ptr<knowledge_index>(new fts_knowledge_index(db));
}

} // namespace opex::connectors
