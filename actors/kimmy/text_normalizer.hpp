// Kimmy step 1 (normalise): cleaned text for display and an accent-folded, lower-case copy for
// matching, with a map back to the original bytes so extracted parameters keep their accents.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace opex::actors {

/// A request's text in two forms. `folded` is ASCII lower case (é -> e, œ -> oe, ’ -> ',
/// « » “ ” -> "), one space between words. `origin_begin[i]`/`origin_end[i]` give the byte
/// range in `clean` that produced folded[i].
struct normalized_text {
  std::string clean;
  std::string folded;
  std::vector<std::size_t> origin_begin;
  std::vector<std::size_t> origin_end;

  /// The part of `clean` that produced folded[begin, end), trimmed of spaces.
  std::string original(std::size_t begin, std::size_t end) const;
};

/// Trims, collapses whitespace, drops control characters and invalid UTF-8, then folds.
normalized_text normalize_text(std::string_view raw);

/// Folds a short keyword the same way (for keyword lists from config).
std::string fold_text(std::string_view text);

/// True when `needle` occurs in `folded` on word boundaries (letters and digits are word
/// characters).
bool contains_word(std::string_view folded, std::string_view needle);

} // namespace opex::actors
