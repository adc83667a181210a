// What opex knows about itself, as searchable documents (docs/kimmy.md, "Answers"): the rule
// planner answers question_systeme and question_simple from the best matches and quotes their
// sources. The index is an interface; connectors/sqlite/knowledge_fts.cpp implements it with
// SQLite FTS5 (BM25 ranking).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace opex {

/// One document: an autonomy level, a tool, the limits, a tenant's tools...
struct knowledge_document {
  std::string id;      ///< unique, e.g. "tool:WEB_SEARCH"
  std::string title;   ///< one line
  std::string body;    ///< the text answered from
  std::string source;  ///< where it comes from, quoted in answers ("tools.yml WEB_SEARCH")
  /// Which kind of knowledge: "configuration" (opex.yml, tools.yml...), "documentation"
  /// (opex's docs, prolex.knowledge.documents); searches may keep to one.
  std::string collection = "configuration";
};

/// A match: the document and the query words it contains (folded, stop words left out).
struct knowledge_hit {
  knowledge_document document;
  double rank = 0;             ///< BM25: lower is better
  std::size_t matched_terms = 0;
  std::size_t query_terms = 0;
  std::vector<std::string> terms;  ///< the question's words searched for (folded, lower case)
};

/// A searchable set of documents. Thread-safe: searched from actor threads.
class knowledge_index {
public:
  virtual ~knowledge_index() = default;
  /// Adds documents (replacing those with the same id).
  virtual void add(const std::vector<knowledge_document>& documents) = 0;
  /// The best `limit` documents of `collection` ("" = all) for a question in words, best
  /// first; empty when no word matches.
  virtual std::vector<knowledge_hit> search(std::string_view question, std::size_t limit,
                                            std::string_view collection = {}) const = 0;
};

} // namespace opex
