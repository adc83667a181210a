// SQLite FTS5 implementation of opex::knowledge_index (opex/knowledge.hpp): an in-memory table
// tokenised with unicode61 (case and accents folded), ranked by BM25, built at start from the
// configuration (docs/kimmy.md, "Answers").
#pragma once

#include "opex/error.hpp"
#include "opex/knowledge.hpp"

#include <memory>

namespace opex::connectors {

/// An empty in-memory index. Errors: INTERNAL_ERROR when SQLite has no FTS5.
result<std::unique_ptr<knowledge_index>> open_knowledge_index();

} // namespace opex::connectors
