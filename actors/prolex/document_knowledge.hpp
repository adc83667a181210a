// Documents as knowledge (docs/kimmy.md, "Answers"): opex's own docs (embedded in the binary)
// and the reference documents prolex.knowledge.documents names, cut into sections for the
// knowledge index, and the answer quoted from the best section. Plain logic.
#pragma once

#include "opex/knowledge.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace opex::actors {

/// The collections documents belong to (knowledge_document::collection).
inline constexpr std::string_view configuration_collection = "configuration";
inline constexpr std::string_view documentation_collection = "documentation";

/// One document per section of a Markdown text (a `#`/`##`/`###` heading and what follows it,
/// up to the next heading; a text without headings is one section titled after `name`): id
/// "doc:<name>#<n>", title "<first heading> — <heading>", source "<name> § <heading>",
/// collection `collection`. Sections without text are left out; a body is at most 16 KB.
std::vector<knowledge_document> markdown_documents(std::string_view name, std::string_view text,
                                                   std::string_view collection);

/// opex's own docs (docs/*.md, embedded in the binary) as documents of the documentation
/// collection, cut once per process.
const std::vector<knowledge_document>& embedded_doc_documents();

/// The reference documents of prolex.knowledge.documents (files, or folders whose *.md and
/// *.txt files are read in name order), as documents of the documentation collection named
/// after each file's name. A file that cannot be read is named in `unreadable`.
std::vector<knowledge_document> file_documents(const std::vector<std::string>& paths,
                                               std::vector<std::string>& unreadable);

/// The answer from the best section of `hits` (best first): its paragraph holding the most of
/// the question's words, cut to about 600 bytes, with its source, when the section holds at
/// least two of the question's words and at least 60 % of them; nullopt otherwise.
std::optional<std::string> document_answer(const std::vector<knowledge_hit>& hits, bool french);

} // namespace opex::actors
