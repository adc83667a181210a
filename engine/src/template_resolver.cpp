// Value-level template resolution ("{{ step_1.result.spec }}"), docs/decisions.md, decision 5.
#include "opex/template_resolver.hpp"

#include "opex/json_util.hpp"

#include <boost/json/serialize.hpp>

#include <charconv>

namespace opex {

namespace json = boost::json;

namespace {

bool is_name_start(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

bool is_name_char(char c) {
  return is_name_start(c) || (c >= '0' && c <= '9');
}

bool is_segment_char(char c) {
  return is_name_char(c) || c == '-';
}

/// One placeholder occurrence inside a string: [begin, end) and its parsed parts.
struct occurrence {
  std::size_t begin = 0;
  std::size_t end = 0;
  placeholder ph;
};

/// Scans `s` from `from` for the next well-formed placeholder.
std::optional<occurrence> next_placeholder(std::string_view s, std::size_t from) {
  while (true) {
    auto open = s.find("{{", from);
    if (open == std::string_view::npos)
      return std::nullopt;
    std::size_t i = open + 2;
    while (i < s.size() && s[i] == ' ')
      ++i;
    std::size_t expr_begin = i;
    if (i >= s.size() || !is_name_start(s[i])) {
      from = open + 2;
      continue;
    }
    while (i < s.size() && is_name_char(s[i]))
      ++i;
    std::size_t root_end = i;
    bool ok = true;
    while (i < s.size() && s[i] == '.') {
      ++i;
      std::size_t seg_begin = i;
      while (i < s.size() && is_segment_char(s[i]))
        ++i;
      if (i == seg_begin) {
        ok = false;
        break;
      }
    }
    std::size_t expr_end = i;
    while (i < s.size() && s[i] == ' ')
      ++i;
    if (!ok || i + 1 >= s.size() || s[i] != '}' || s[i + 1] != '}') {
      from = open + 2;
      continue;
    }
    occurrence occ;
    occ.begin = open;
    occ.end = i + 2;
    occ.ph.expression = std::string(s.substr(expr_begin, expr_end - expr_begin));
    occ.ph.root = std::string(s.substr(expr_begin, root_end - expr_begin));
    occ.ph.path = root_end < expr_end ? std::string(s.substr(root_end + 1, expr_end - root_end - 1))
                                      : std::string{};
    return occ;
  }
}

void collect(const json::value& v, std::vector<placeholder>& out) {
  if (const auto* s = v.if_string()) {
    std::string_view sv(*s);
    std::size_t from = 0;
    while (auto occ = next_placeholder(sv, from)) {
      out.push_back(occ->ph);
      from = occ->end;
    }
  } else if (const auto* a = v.if_array()) {
    for (const auto& item : *a)
      collect(item, out);
  } else if (const auto* o = v.if_object()) {
    for (const auto& kv : *o)
      collect(kv.value(), out);
  }
}

struct resolver {
  const template_lookup& lookup;
  template_mode mode;
  error_info error;
  bool unknown_root = false;  // lenient: the last lookup named a root we do not know

  /// The referenced value, or nullptr (error set in strict mode).
  const json::value* find(const placeholder& ph) {
    const json::value* root = lookup(ph.root);
    if (root == nullptr) {
      if (mode == template_mode::strict)
        error = make_error(error_code::template_unresolved,
                           "placeholder {{ " + ph.expression + " }} names nothing known",
                           json::object{{"placeholder", ph.expression}, {"reason", "unknown_root"}});
      else
        unknown_root = true;
      return nullptr;
    }
    const json::value* v = ph.path.empty() ? root : find_path(*root, ph.path);
    if (v == nullptr && mode == template_mode::strict)
      error = make_error(error_code::template_unresolved,
                         "placeholder {{ " + ph.expression + " }}: path '" + ph.path
                           + "' does not exist in the referenced result",
                         json::object{{"placeholder", ph.expression}, {"reason", "missing_path"}});
    return v;
  }

  /// Resolves a string; `whole_null` is set when the string was one placeholder that resolved
  /// to nothing (lenient mode) so the caller can drop the member.
  std::optional<json::value> string(const json::string& s, bool& whole_null) {
    whole_null = false;
    std::string_view sv(s);
    auto first = next_placeholder(sv, 0);
    if (!first)
      return json::value(s);
    if (first->begin == 0 && first->end == sv.size()) {
      unknown_root = false;
      const json::value* v = find(first->ph);
      if (v == nullptr) {
        if (error)
          return std::nullopt;
        if (unknown_root)  // lenient: leave placeholders of other scopes for later
          return json::value(s);
        whole_null = true;
        return json::value(nullptr);
      }
      if (v->is_null())
        whole_null = true;
      return *v;
    }
    std::string out;
    std::size_t pos = 0;
    for (auto occ = first; occ; occ = next_placeholder(sv, pos)) {
      out.append(sv.substr(pos, occ->begin - pos));
      unknown_root = false;
      const json::value* v = find(occ->ph);
      if (v == nullptr) {
        if (error)
          return std::nullopt;
        if (unknown_root)
          out.append(sv.substr(occ->begin, occ->end - occ->begin));
      } else if (v->is_string()) {
        out.append(v->get_string());
      } else if (!v->is_null()) {
        out.append(json::serialize(*v));
      }
      pos = occ->end;
    }
    out.append(sv.substr(pos));
    return json::value(std::move(out));
  }

  std::optional<json::value> value(const json::value& v) {
    if (const auto* s = v.if_string()) {
      bool whole_null = false;
      return string(*s, whole_null);
    }
    if (const auto* a = v.if_array()) {
      json::array out;
      out.reserve(a->size());
      for (const auto& item : *a) {
        auto r = value(item);
        if (!r)
          return std::nullopt;
        out.push_back(std::move(*r));
      }
      return json::value(std::move(out));
    }
    if (const auto* o = v.if_object()) {
      json::object out;
      out.reserve(o->size());
      for (const auto& kv : *o) {
        if (const auto* s = kv.value().if_string()) {
          bool whole_null = false;
          auto r = string(*s, whole_null);
          if (!r)
            return std::nullopt;
          if (whole_null && mode == template_mode::lenient)
            continue;
          out.emplace(kv.key(), std::move(*r));
        } else {
          auto r = value(kv.value());
          if (!r)
            return std::nullopt;
          out.emplace(kv.key(), std::move(*r));
        }
      }
      return json::value(std::move(out));
    }
    return v;
  }
};

} // namespace

std::vector<placeholder> find_placeholders(const json::value& payload) {
  std::vector<placeholder> out;
  collect(payload, out);
  return out;
}

std::optional<int> step_number_of(std::string_view root) noexcept {
  if (!root.starts_with("step_") || root.size() == 5)
    return std::nullopt;
  int n = 0;
  auto digits = root.substr(5);
  auto res = std::from_chars(digits.data(), digits.data() + digits.size(), n);
  if (res.ec != std::errc{} || res.ptr != digits.data() + digits.size() || n < 1)
    return std::nullopt;
  return n;
}

result<json::value> resolve_templates(const json::value& payload, const template_lookup& lookup,
                                      template_mode mode) {
  resolver r{lookup, mode, {}};
  auto out = r.value(payload);
  if (!out)
    return r.error;
  return std::move(*out);
}

} // namespace opex
