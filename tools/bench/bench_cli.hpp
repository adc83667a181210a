// The benches' command lines (tools/bench/README.md): `--help` prints the usage on stdout and
// exits 0 without running anything; a bad argument prints "<bench>: <what was wrong>" and the
// usage on stderr and exits 2.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace opex::bench {

/// Walks argv one argument at a time: `while (r.next()) { if (r.arg() == ...) ... }`.
class arg_reader {
public:
  using usage_fn = void (*)(std::FILE*);
  arg_reader(int argc, char** argv, const char* bench, usage_fn usage)
    : argc_(argc), argv_(argv), bench_(bench), usage_(usage) {}

  /// Moves to the next argument; false when there is none left.
  bool next() {
    if (++i_ >= argc_)
      return false;
    arg_ = argv_[i_];
    return true;
  }
  /// The current argument.
  const std::string& arg() const noexcept { return arg_; }
  /// The value after the current argument; exits 2 ("--x needs a value") when there is none.
  std::string value() {
    if (i_ + 1 >= argc_)
      fail(arg_ + " needs a value");
    return argv_[++i_];
  }
  /// The usage on stdout, exit 0.
  [[noreturn]] void help() const {
    usage_(stdout);
    std::exit(0);
  }
  /// "<bench>: <why>" and the usage on stderr, exit 2.
  [[noreturn]] void fail(const std::string& why) const {
    std::fprintf(stderr, "%s: %s\n", bench_, why.c_str());
    usage_(stderr);
    std::exit(2);
  }

private:
  int argc_;
  char** argv_;
  const char* bench_;
  usage_fn usage_;
  int i_ = 0;
  std::string arg_;
};

/// "a,b,,c" -> {"a", "b", "c"} (empty items are skipped).
inline std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    auto end = text.find(',', start);
    if (end == std::string::npos)
      end = text.size();
    if (end > start)
      out.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

} // namespace opex::bench
