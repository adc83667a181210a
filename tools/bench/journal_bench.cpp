// Journal bench: how many SystemJournal entries per second the SQLite journal commits (WAL,
// synchronous=NORMAL, multi-row transactions, its real schema and indexes), by batch size, and
// how many bytes of database each entry and each simple request (four entries) takes.
// Entries are the four a TASK_CREATE tool_call writes (routed, attempt started, step, plan),
// masked as the store masks them, with request ids made as the engine makes them (UUID v7).
// The entries are built before the clock starts (the actors build them); the clock runs over
// the store's work: masking, usage counters, the row and its indexes, the commit.
//
//   opex_journal_bench [--entries N] [--batches 1,8,64,512] [--dir DIR] [--json]
//
//   --entries N   entries per batch size (default 100000)
//   --batches     entries per transaction, one measurement each (default 1,8,64,512)
//   --dir DIR     where the database files journal-<batch>.db go, replaced if there and kept
//                 (default: a fresh temporary folder, removed at the end)
//   --json        one JSON object per line instead of the table:
//                 {"bench":"journal","batch","entries","entries_per_s","bytes_per_entry",
//                  "bytes_per_request"}
//   -h, --help    this text
// Exit codes: 0 done, 1 the journal failed, 2 bad arguments.
#include "bench_cli.hpp"
#include "opex/connectors/sqlite_journal.hpp"
#include "opex/ids.hpp"
#include "opex/policies/masking.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

namespace json = boost::json;
namespace fs = std::filesystem;
using steady = std::chrono::steady_clock;

namespace {

struct bench_args {
  int entries = 100000;
  std::vector<int> batches{1, 8, 64, 512};
  std::string dir;
  bool json = false;
};

void usage(std::FILE* to) {
  std::fputs("usage: opex_journal_bench [--entries N] [--batches 1,8,64,512] [--dir DIR] [--json]\n"
             "SystemJournal entries committed per second by the SQLite journal, and bytes per entry.\n"
             "tools/bench/README.md describes the output and the published figures.\n",
             to);
}

bench_args parse_args(int argc, char** argv) {
  bench_args a;
  opex::bench::arg_reader r(argc, argv, "opex_journal_bench", usage);
  while (r.next()) {
    const auto& arg = r.arg();
    if (arg == "-h" || arg == "--help") {
      r.help();
    } else if (arg == "--json") {
      a.json = true;
    } else if (arg == "--entries") {
      a.entries = std::atoi(r.value().c_str());
      if (a.entries <= 0)
        r.fail("--entries must be a positive number");
    } else if (arg == "--batches") {
      a.batches.clear();
      for (const auto& item : opex::bench::split_list(r.value())) {
        int n = std::atoi(item.c_str());
        if (n <= 0)
          r.fail("a batch must be a positive number, not '" + item + "'");
        a.batches.push_back(n);
      }
      if (a.batches.empty())
        r.fail("--batches needs at least one number");
    } else if (arg == "--dir") {
      a.dir = r.value();
    } else {
      r.fail("unknown argument " + arg);
    }
  }
  return a;
}

/// The four entries of one TASK_CREATE request, as the engine writes them.
std::vector<json::object> request_entries(const std::string& request_id, const std::string& now) {
  const char* texts[] = {
    R"({"agent":"proxy","action_type":"routing","user_id":"system","intent":null,"tool_used":"TASK_CREATE","payload_snapshot":null,"result":{"status":"success","data":{"decision":"routed","output_type":"tool_call","steps":1,"steps_needing_approval":0,"estimated_cost_usd":0},"error":null,"error_code":null},"metadata":{"autonomy_level":2,"tenant":"default"},"tags":["proxy"]})",
    R"({"agent":"opex","action_type":"execution","user_id":"system","intent":null,"tool_used":"TASK_CREATE","payload_snapshot":{"title":"Réviser l'architecture Prolex","priority":"high"},"result":{"status":"pending","data":{"step_status":"running","attempt":1},"error":null,"error_code":null},"metadata":{"autonomy_level":2,"step":1,"attempt":1,"tenant":"default"},"tags":["attempt","started"]})",
    R"({"agent":"opex","action_type":"execution","user_id":"system","intent":null,"tool_used":"TASK_CREATE","payload_snapshot":{"title":"Réviser l'architecture Prolex","priority":"high"},"result":{"status":"success","data":{"task_id":"task_019ada3e4f2b5c6d7e8f","status":"created","title":"Réviser l'architecture Prolex","priority":"high","url":"opex://tasks/task_019ada3e4f2b5c6d7e8f","due_date":null},"error":null,"error_code":null},"metadata":{"autonomy_level":2,"step":1,"attempt":1,"attempts":1,"execution_time_ms":0.32,"cost_usd":0,"tenant":"default"},"tags":["step","succeeded"]})",
    R"({"agent":"opex","action_type":"execution","user_id":"system","intent":null,"tool_used":null,"payload_snapshot":null,"result":{"status":"success","data":{"plan_steps":1,"succeeded":1,"failed":0,"skipped":0,"cancelled":0,"request_status":"succeeded"},"error":null,"error_code":null},"metadata":{"autonomy_level":2,"execution_time_ms":3.03,"cost_usd":0,"tenant":"default"},"tags":["plan"]})"};
  static const std::vector<json::object> parsed = [&] {
    std::vector<json::object> v;
    for (const char* t : texts)
      v.push_back(json::parse(t).as_object());
    return v;
  }();
  std::vector<json::object> out;
  for (const auto& t : parsed) {
    auto o = t;
    o["timestamp"] = now;
    o["request_id"] = request_id;
    out.push_back(std::move(o));
  }
  return out;
}

std::uintmax_t database_bytes(const std::string& path) {
  std::uintmax_t total = 0;
  for (const auto* suffix : {"", "-wal"}) {
    std::error_code ec;
    auto n = fs::file_size(path + suffix, ec);
    total += ec ? 0 : n;
  }
  return total;
}

/// Writes `entries` in transactions of `batch`; returns false when the journal fails.
bool measure(const bench_args& a, const std::string& dir, int batch, const opex::policies::masking_rules& masking) {
  const std::string path = dir + "/journal-" + std::to_string(batch) + ".db";
  auto journal = opex::connectors::sqlite_journal::open(path);
  if (!journal) {
    std::fprintf(stderr, "opex_journal_bench: %s\n", journal.error().message.c_str());
    return false;
  }
  const auto empty = database_bytes(path);
  // The entries are built first, as the actors build them before they reach the store; the
  // clock runs over the store's work: masking, the row, the commit.
  std::vector<json::value> made;
  made.reserve(static_cast<std::size_t>(a.entries) + 4);
  while (static_cast<int>(made.size()) < a.entries)
    for (auto& e : request_entries(opex::make_uuid_v7(), "2026-12-02T08:00:00.000Z"))
      made.emplace_back(std::move(e));
  made.resize(static_cast<std::size_t>(a.entries));
  std::vector<json::object> pending;
  pending.reserve(static_cast<std::size_t>(batch));
  const auto start = steady::now();
  for (int written = 0; written < a.entries;) {
    auto& v = made[static_cast<std::size_t>(written)];
    opex::policies::mask_secrets(v, masking);  // the store's work per entry
    pending.push_back(std::move(v.as_object()));
    if (++written == a.entries || static_cast<int>(pending.size()) == batch) {
      if (auto r = (*journal)->append(pending); !r) {
        std::fprintf(stderr, "opex_journal_bench: %s\n", r.error().message.c_str());
        return false;
      }
      pending.clear();
    }
  }
  const double seconds = std::chrono::duration<double>(steady::now() - start).count();
  journal->reset();  // closes: the WAL is checkpointed into the file
  const double per_entry = static_cast<double>(database_bytes(path) - empty) / a.entries;
  const double rate = a.entries / seconds;
  if (a.json)
    std::printf("%s\n", json::serialize(json::object{{"bench", "journal"},
                                                     {"batch", batch},
                                                     {"entries", a.entries},
                                                     {"entries_per_s", rate},
                                                     {"bytes_per_entry", per_entry},
                                                     {"bytes_per_request", per_entry * 4}})
                          .c_str());
  else
    std::printf("%8d %10d %14.0f %12.0f %14.0f\n", batch, a.entries, rate, per_entry, per_entry * 4);
  return true;
}

} // namespace

int main(int argc, char** argv) {
  auto args = parse_args(argc, argv);
  const bool temporary = args.dir.empty();
  std::string dir = args.dir;
  try {
    if (temporary)
      dir = (fs::temp_directory_path() / ("opex-journal-bench-" + opex::make_uuid_v7())).string();
    fs::create_directories(dir);
    for (const auto& f : fs::directory_iterator(dir))
      if (f.path().filename().string().rfind("journal-", 0) == 0)
        fs::remove(f.path());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "opex_journal_bench: cannot use %s: %s\n", dir.c_str(), e.what());
    return 1;
  }
  opex::policies::masking_rules masking;
  if (!args.json)
    std::printf("%8s %10s %14s %12s %14s\n", "batch", "entries", "entries/s", "B/entry", "B/request");
  int rc = 0;
  for (int b : args.batches)
    if (!measure(args, dir, b, masking)) {
      rc = 1;
      break;
    }
  if (temporary) {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  return rc;
}
