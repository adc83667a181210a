// The engine log (opex/log.hpp): JSON lines with a level, filtered by the configured level,
// masked, to a file target.
#include "opex/log.hpp"

#include <boost/json/parse.hpp>
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <unistd.h>

using namespace opex;
namespace json = boost::json;

TEST_CASE("log: lines at or above the level reach the file as JSON, masked, with their fields") {
  auto path = std::filesystem::temp_directory_path() / ("opex-log-test-" + std::to_string(::getpid()) + ".log");
  std::filesystem::remove(path);
  configure_log({log_level::info, path.string()});
  set_log_masker([](std::string_view s) {
    std::string out(s);
    if (auto at = out.find("hunter2"); at != std::string::npos)
      out.replace(at, 7, "***");
    return out;
  });
  log_event(log_level::debug, "test.hidden", "below the level");
  log_event(log_level::warn, "test.event", "password is hunter2", json::object{{"request_id", "r1"}, {"count", 3}});
  log_event(log_level::off, "test.never", "off is not a level to write at");
  configure_log({log_level::info, "stderr"});
  set_log_masker(nullptr);

  std::ifstream in(path);
  std::vector<json::object> lines;
  for (std::string line; std::getline(in, line);)
    lines.push_back(json::parse(line).as_object());
  std::filesystem::remove(path);
  REQUIRE(lines.size() == 1);
  const auto& l = lines[0];
  CHECK(l.at("level") == "warn");
  CHECK(l.at("logger") == "opex");
  CHECK(l.at("event") == "test.event");
  CHECK(l.at("msg") == "password is ***");
  CHECK(l.at("request_id") == "r1");
  CHECK(l.at("count") == 3);
  CHECK(l.at("time").as_string().ends_with("Z"));
}

TEST_CASE("log: level names read back; an unopenable file is an error naming it") {
  CHECK(parse_log_level("debug") == log_level::debug);
  CHECK(parse_log_level("error") == log_level::error);
  CHECK(!parse_log_level("verbose"));
  CHECK(log_level_name(log_level::warn) == "warn");
  // spdlog creates missing folders: a file where the folder should be cannot be opened.
  auto file = std::filesystem::temp_directory_path() / ("opex-log-test-file-" + std::to_string(::getpid()));
  std::ofstream(file) << "x";
  auto target = (file / "opex.log").string();
  CHECK_THROWS_WITH(configure_log({log_level::info, target}), Catch::Contains(target));
  std::filesystem::remove(file);
}
