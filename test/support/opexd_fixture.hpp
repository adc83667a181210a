// opexd in process for tests: an engine on a database in a temporary folder (optionally with an
// opex.yml written there), the HTTP API in front of it on a free loopback port, a client, and a
// check of the standard error JSON. Stop and start again on the same database (restarts).
#pragma once

#include "api_server.hpp"

#include "opex/connectors/http_client.hpp"
#include "opex/schema_registry.hpp"

#include "support/http_call.hpp"
#include "support/temp_dir.hpp"

#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>

#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace opex::test {

struct opexd_fixture {
  temp_dir dir;
  std::shared_ptr<const clock> time;  ///< null: the system clock
  std::vector<tools::api_key> keys;
  std::function<void(tools::api_server_options&)> adjust_server;
  bool with_config = false;
  std::unique_ptr<engine> eng;
  std::unique_ptr<tools::api_server> server;
  connectors::http_client client;
  std::shared_ptr<schema_registry> schemas = schema_registry::with_embedded();

  ~opexd_fixture() { stop(); }

  /// Writes dir/opex.yml; the engine loads it from then on.
  void write_config(const std::string& yaml) {
    std::ofstream(dir.file("opex.yml")) << yaml;
    with_config = true;
  }

  /// Adds API keys (`parse_api_keys` text) acting for `tenant`.
  void add_keys(std::string_view text, std::string_view tenant = "default") {
    for (auto& k : tools::parse_api_keys(text, tenant))
      keys.push_back(std::move(k));
  }

  void start() {
    engine_options o;
    if (with_config)
      o.config_path = dir.file("opex.yml");
    o.database = dir.file("opex.db");
    o.time = time;
    eng = std::make_unique<engine>(std::move(o));
    tools::api_server_options so;
    so.port = 0;
    so.keys = keys;
    if (adjust_server)
      adjust_server(so);
    server = std::make_unique<tools::api_server>(*eng, so);
    server->start();
  }

  void stop() {
    if (server)
      server->stop();
    server.reset();
    eng.reset();
  }

  http_reply call(const std::string& method, const std::string& path, const std::string& body, const std::string& key,
                  std::vector<std::pair<std::string, std::string>> headers = {}) {
    if (!key.empty())
      headers.emplace_back("X-API-Key", key);
    return http_call(client, method, "http://127.0.0.1:" + std::to_string(server->port()) + path, body,
                     std::move(headers));
  }

  /// Checks the standard error JSON and returns its code ("" when there is none).
  std::string error_code_of(const http_reply& r) {
    INFO(boost::json::serialize(r.body));
    CHECK(schemas->validate(schema_ids::error, r.body).empty());
    return r.body.is_object() && r.body.as_object().contains("error_code")
             ? std::string(r.body.at("error_code").as_string())
             : std::string{};
  }
};

} // namespace opex::test
