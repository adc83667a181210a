// UTF-8 cleaning and accent folding for Kimmy's rules.
#include "text_normalizer.hpp"

#include <cstdint>

namespace opex::actors {

namespace {

/// Decodes one UTF-8 code point at `i`; returns false on invalid input (then `len` = 1).
bool decode(std::string_view s, std::size_t i, char32_t& cp, std::size_t& len) {
  auto c = static_cast<unsigned char>(s[i]);
  if (c < 0x80) {
    cp = c;
    len = 1;
    return true;
  }
  std::size_t n = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
  if (n == 0 || i + n > s.size()) {
    len = 1;
    return false;
  }
  cp = n == 2 ? (c & 0x1F) : n == 3 ? (c & 0x0F) : (c & 0x07);
  for (std::size_t k = 1; k < n; ++k) {
    auto cc = static_cast<unsigned char>(s[i + k]);
    if ((cc & 0xC0) != 0x80) {
      len = 1;
      return false;
    }
    cp = (cp << 6) | (cc & 0x3F);
  }
  len = n;
  return true;
}

/// ASCII folding of one code point ("" = drop, " " = separator).
std::string_view fold_cp(char32_t cp) {
  if (cp < 0x80) {
    static const std::string table = [] {
      std::string t(128, ' ');
      for (int c = 0; c < 128; ++c)
        t[c] = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
      return t;
    }();
    return std::string_view(table).substr(cp, 1);
  }
  switch (cp) {
    case U'à': case U'á': case U'â': case U'ã': case U'ä': case U'å':
    case U'À': case U'Á': case U'Â': case U'Ã': case U'Ä': case U'Å': return "a";
    case U'æ': case U'Æ': return "ae";
    case U'ç': case U'Ç': return "c";
    case U'è': case U'é': case U'ê': case U'ë': case U'È': case U'É': case U'Ê': case U'Ë': return "e";
    case U'ì': case U'í': case U'î': case U'ï': case U'Ì': case U'Í': case U'Î': case U'Ï': return "i";
    case U'ñ': case U'Ñ': return "n";
    case U'ò': case U'ó': case U'ô': case U'õ': case U'ö': case U'ø':
    case U'Ò': case U'Ó': case U'Ô': case U'Õ': case U'Ö': case U'Ø': return "o";
    case U'œ': case U'Œ': return "oe";
    case U'ù': case U'ú': case U'û': case U'ü': case U'Ù': case U'Ú': case U'Û': case U'Ü': return "u";
    case U'ý': case U'ÿ': case U'Ý': case U'Ÿ': return "y";
    case U'ß': return "ss";
    case U'’': case U'‘': case U'ʼ': case U'`': return "'";
    case U'«': case U'»': case U'“': case U'”': case U'„': return "\"";
    case U'–': case U'—': case U'‑': return "-";
    case U'€': return "e";
    case U'…': return ".";
    default: return " ";
  }
}

bool is_word_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z');
}

} // namespace

std::string normalized_text::original(std::size_t begin, std::size_t end) const {
  if (begin >= end || end > folded.size())
    return {};
  while (begin < end && folded[begin] == ' ')
    ++begin;
  while (end > begin && folded[end - 1] == ' ')
    --end;
  if (begin >= end)
    return {};
  return clean.substr(origin_begin[begin], origin_end[end - 1] - origin_begin[begin]);
}

normalized_text normalize_text(std::string_view raw) {
  normalized_text out;
  out.clean.reserve(raw.size());
  // Clean: valid UTF-8 only, control characters and runs of whitespace become one space.
  bool pending_space = false;
  for (std::size_t i = 0; i < raw.size();) {
    char32_t cp = 0;
    std::size_t len = 1;
    bool ok = decode(raw, i, cp, len);
    if (!ok) {
      i += len;
      continue;
    }
    bool space = cp == U' ' || cp == U'\t' || cp == U'\n' || cp == U'\r' || cp == 0xA0 || cp == 0x202F
                 || cp == 0x2009;
    bool control = cp < 0x20 || cp == 0x7F || (cp >= 0x200B && cp <= 0x200F) || cp == 0xFEFF;
    if (space) {
      pending_space = !out.clean.empty();
    } else if (!control) {
      if (pending_space)
        out.clean.push_back(' ');
      pending_space = false;
      out.clean.append(raw.substr(i, len));
    }
    i += len;
  }
  // Fold, recording where each folded byte came from.
  out.folded.reserve(out.clean.size());
  out.origin_begin.reserve(out.clean.size());
  out.origin_end.reserve(out.clean.size());
  for (std::size_t i = 0; i < out.clean.size();) {
    char32_t cp = 0;
    std::size_t len = 1;
    decode(out.clean, i, cp, len);
    for (char c : fold_cp(cp)) {
      if (c == ' ' && !out.folded.empty() && out.folded.back() == ' ')
        continue;
      out.folded.push_back(c);
      out.origin_begin.push_back(i);
      out.origin_end.push_back(i + len);
    }
    i += len;
  }
  return out;
}

std::string fold_text(std::string_view text) {
  return normalize_text(text).folded;
}

bool contains_word(std::string_view folded, std::string_view needle) {
  if (needle.empty())
    return false;
  for (std::size_t pos = folded.find(needle); pos != std::string_view::npos;
       pos = folded.find(needle, pos + 1)) {
    bool left = pos == 0 || !is_word_char(folded[pos - 1]);
    auto end = pos + needle.size();
    bool right = end >= folded.size() || !is_word_char(folded[end]);
    if (left && right)
      return true;
  }
  return false;
}

} // namespace opex::actors
