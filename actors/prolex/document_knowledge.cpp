// Documents as knowledge (document_knowledge.hpp).
#include "document_knowledge.hpp"

#include "kimmy/kimmy_text.hpp"

#include "opex/json_util.hpp"
#include "opex/schema_registry.hpp"

#include <algorithm>
#include <cctype>
#include <filesystem>

namespace opex::actors {

namespace {

constexpr std::size_t max_body = 16 * 1024;
constexpr std::size_t max_excerpt = 600;

std::string trimmed(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())))
    s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())))
    s.remove_suffix(1);
  return std::string(s);
}

/// `s` cut to at most `max` bytes, at a sentence end when there is one in its second half, else
/// on a UTF-8 boundary with "…".
std::string cut(std::string s, std::size_t max) {
  if (s.size() <= max)
    return s;
  auto sentence = s.rfind(". ", max);
  if (sentence != std::string::npos && sentence > max / 2)
    return s.substr(0, sentence + 1);
  return kimmy_detail::truncate_utf8(std::move(s), max);
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

/// How many of `terms` (lower case, matched as word prefixes) `text` holds.
std::size_t terms_in(const std::string& text, const std::vector<std::string>& terms) {
  const auto l = lower(text);
  std::size_t n = 0;
  for (const auto& t : terms)
    for (auto at = l.find(t); at != std::string::npos; at = l.find(t, at + 1))
      if (at == 0 || !std::isalnum(static_cast<unsigned char>(l[at - 1]))) {
        ++n;
        break;
      }
  return n;
}

/// The prose paragraph of `body` (blank-line separated; not a table, a code block) holding the
/// most of `terms`, the first on ties, as plain text.
std::string best_paragraph(const std::string& body, const std::vector<std::string>& terms) {
  std::string best;
  std::size_t best_n = 0;
  std::size_t from = 0;
  while (from < body.size()) {
    auto end = body.find("\n\n", from);
    auto para = trimmed(std::string_view(body).substr(from, end == std::string::npos ? std::string::npos : end - from));
    auto n = terms_in(para, terms);
    const bool prose = !para.empty() && para.front() != '|' && !para.starts_with("```") && !para.starts_with("    ");
    if (prose && (best.empty() || n > best_n)) {
      best = para;
      best_n = n;
    }
    if (end == std::string::npos)
      break;
    from = end + 2;
  }
  // One line of plain text: Markdown's code and emphasis marks out.
  std::string plain;
  for (char c : best) {
    if (c == '\n')
      c = ' ';
    if (c == '`' || c == '*' || (c == ' ' && (plain.empty() || plain.back() == ' ')))
      continue;
    plain.push_back(c);
  }
  return plain;
}

} // namespace

std::vector<knowledge_document> markdown_documents(std::string_view name, std::string_view text,
                                                   std::string_view collection) {
  std::vector<knowledge_document> out;
  std::string doc_title, heading, body;
  bool in_code = false;
  auto flush = [&] {
    auto b = trimmed(body);
    if (!b.empty()) {
      const auto& h = heading.empty() ? (doc_title.empty() ? std::string(name) : doc_title) : heading;
      knowledge_document d;
      d.id = "doc:" + std::string(name) + "#" + std::to_string(out.size() + 1);
      d.title = doc_title.empty() || h == doc_title ? h : doc_title + " — " + h;
      d.body = cut(std::move(b), max_body);
      d.source = std::string(name) + " § " + h;
      d.collection = std::string(collection);
      out.push_back(std::move(d));
    }
    body.clear();
  };
  std::size_t from = 0;
  while (from <= text.size()) {
    auto end = text.find('\n', from);
    auto line = text.substr(from, end == std::string_view::npos ? std::string_view::npos : end - from);
    if (line.starts_with("```"))
      in_code = !in_code;
    const auto hashes = in_code ? 0 : line.find_first_not_of('#');
    if (!in_code && hashes >= 1 && hashes <= 3 && hashes < line.size() && line[hashes] == ' ') {
      flush();
      heading = trimmed(line.substr(hashes + 1));
      if (hashes == 1 && doc_title.empty())
        doc_title = heading;
    } else {
      body.append(line);
      body.push_back('\n');
    }
    if (end == std::string_view::npos)
      break;
    from = end + 1;
  }
  flush();
  return out;
}

const std::vector<knowledge_document>& embedded_doc_documents() {
  static const std::vector<knowledge_document> all = [] {  // the binary's docs never change
    std::vector<knowledge_document> out;
    for (const auto& [path, contents] : embedded_files_under("docs/")) {
      auto docs = markdown_documents(path, contents, documentation_collection);
      out.insert(out.end(), std::make_move_iterator(docs.begin()), std::make_move_iterator(docs.end()));
    }
    return out;
  }();
  return all;
}

std::vector<knowledge_document> file_documents(const std::vector<std::string>& paths,
                                               std::vector<std::string>& unreadable) {
  namespace fs = std::filesystem;
  std::vector<fs::path> files;
  for (const auto& p : paths) {
    std::error_code ec;
    if (!fs::is_directory(p, ec)) {
      files.emplace_back(p);
      continue;
    }
    std::vector<fs::path> in_folder;
    for (const auto& e : fs::directory_iterator(p, ec))
      if (e.is_regular_file(ec) && (e.path().extension() == ".md" || e.path().extension() == ".txt"))
        in_folder.push_back(e.path());
    std::sort(in_folder.begin(), in_folder.end());
    files.insert(files.end(), in_folder.begin(), in_folder.end());
  }
  std::vector<knowledge_document> out;
  for (const auto& f : files) {
    auto text = read_file(f.string());
    if (!text) {
      unreadable.push_back(f.string());
      continue;
    }
    auto docs = markdown_documents(f.filename().string(), *text, documentation_collection);
    out.insert(out.end(), std::make_move_iterator(docs.begin()), std::make_move_iterator(docs.end()));
  }
  return out;
}

std::optional<std::string> document_answer(const std::vector<knowledge_hit>& hits, bool french) {
  if (hits.empty())
    return std::nullopt;
  const auto& best = hits.front();
  if (best.matched_terms < 2 || best.matched_terms * 10 < best.query_terms * 6)
    return std::nullopt;
  auto excerpt = cut(best_paragraph(best.document.body, best.terms), max_excerpt);
  if (excerpt.empty())
    return std::nullopt;
  return (french ? "D'après la documentation d'opex : " : "From opex's documentation: ") + excerpt
         + (french ? " (source : " : " (source: ") + best.document.source + ")";
}

} // namespace opex::actors
