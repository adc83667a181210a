// opex_fake_webhook: a scriptable loopback webhook server for command-line tests.
//   opex_fake_webhook SCRIPT.json LOG.jsonl
// SCRIPT maps a request path to a response {"status": 200, "body": {...}} or to a list of
// them (one per call, the last repeating). Prints "port N" on stdout once listening, logs every
// request as one JSON line {"target", "body"} to LOG, and exits when stdin closes.
#include "support/loopback_server.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <sstream>

namespace json = boost::json;

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: opex_fake_webhook SCRIPT.json LOG.jsonl\n";
    return 2;
  }
  std::ifstream in(argv[1]);
  std::stringstream ss;
  ss << in.rdbuf();
  json::value script = json::parse(ss.str());
  std::mutex m;
  std::map<std::string, std::size_t> calls;
  std::ofstream log(argv[2], std::ios::app);
  opex::test::loopback_server server([&](const opex::test::recorded_request& req) {
    std::lock_guard lock(m);
    log << json::serialize(json::object{{"target", req.target}, {"body", req.body}}) << std::endl;
    std::string path = req.target.substr(0, req.target.find('?'));
    const auto* entry = script.as_object().if_contains(path);
    if (!entry)
      return opex::test::scripted_response{404, R"({"error":"no script for this path"})"};
    const json::value* r = entry;
    if (entry->is_array()) {
      const auto& list = entry->as_array();
      auto n = calls[path]++;
      r = &list[std::min(n, list.size() - 1)];
    }
    int status = r->as_object().contains("status") ? static_cast<int>(r->at("status").as_int64()) : 200;
    std::string body = r->as_object().contains("body") ? json::serialize(r->at("body")) : "{}";
    return opex::test::scripted_response{status, body};
  });
  std::cout << "port " << server.port() << std::endl;
  std::string line;
  while (std::getline(std::cin, line)) {
  }
  return 0;
}
