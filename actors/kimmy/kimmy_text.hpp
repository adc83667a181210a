// Kimmy's text helpers: words, spans of the folded text, phrases cut out of the original text,
// quotes, priorities and client names. Plain functions over normalize_text's output.
#pragma once

#include "text_normalizer.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace opex::actors::kimmy_detail {

/// The words of folded text (letters, digits, apostrophes, hyphens).
std::vector<std::string> words_of(std::string_view folded);

/// [begin, end) in the folded text.
struct span {
  std::size_t begin = 0;
  std::size_t end = 0;
};

/// Text of `nt` over folded [begin, end) minus `cuts`, in original form, tidied.
std::string original_without(const normalized_text& nt, std::size_t begin, std::size_t end,
                             const std::vector<span>& cuts);
/// Spaces and the punctuation trimmed around extracted phrases.
bool is_space_or_punct(char c);
/// Removes leading filler words and trailing punctuation/filler from an extracted phrase.
std::string tidy_phrase(std::string s);
/// Tidies a note's content: only connectors between the trigger and the content go.
std::string tidy_note(std::string s);
/// A note's title from the text before its colon: without "called" / "intitulée" before it
/// and "with" / "avec" after it ("called Reading list with" -> "Reading list").
std::string titled_head(std::string head);
/// Upper-cases the first letter (ASCII and Latin-1 accented letters in UTF-8).
std::string capitalize_first(std::string s);
/// The first quoted segment («...», "...", “...”) of the folded text (quotes fold to ").
std::optional<span> quoted(std::string_view folded);
/// A single-quoted title ('Fix login page') in English text: the opening quote after a space.
std::optional<span> single_quoted(std::string_view folded);

/// A value found in the text and where.
struct found_span {
  span where;
  std::string value;
};

/// "urgent", "haute priorité", "low priority"... -> urgent | high | medium | low, with its span.
std::optional<found_span> find_priority(std::string_view folded);
/// True when the word starts with an upper-case letter (ASCII or Latin-1 accented, UTF-8) or a digit.
bool is_upper_start(std::string_view original_word);
/// "client Dupont", "for customer Globex": the capitalised words after the keyword.
std::optional<std::string> find_client_name(const normalized_text& nt);
/// At most `max_bytes` bytes, cut on a UTF-8 boundary, with "…" when cut.
std::string truncate_utf8(std::string s, std::size_t max_bytes);

} // namespace opex::actors::kimmy_detail
