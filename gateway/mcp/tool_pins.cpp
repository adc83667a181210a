// Pinned MCP tool definitions in SQLite (docs/mcp-gateway.md, "Aggregation").
#include "opex/gateway/tool_pins.hpp"

#include "opex/connectors/sqlite_db.hpp"
#include "opex/json_util.hpp"
#include "opex/policies/confirmation_code.hpp"

#include <boost/json/serialize.hpp>

#include <algorithm>
#include <map>
#include <vector>

namespace opex::gateway {

namespace json = boost::json;

namespace {

json::value canonical(const json::value& v) {
  if (v.is_array()) {
    json::array out;
    for (const auto& x : v.get_array())
      out.push_back(canonical(x));
    return out;
  }
  if (!v.is_object())
    return v;
  std::vector<std::string> keys;
  for (const auto& kv : v.get_object())
    keys.emplace_back(kv.key());
  std::sort(keys.begin(), keys.end());
  json::object out;
  for (const auto& k : keys)
    out[k] = canonical(v.get_object().at(k));
  return out;
}

error_info db_error(const std::exception& e) {
  return make_error(error_code::internal_error, "the MCP tool pins cannot be read or written",
                    json::object{{"reason", e.what()}});
}

} // namespace

std::string definition_digest(const json::object& d) {
  json::object parts{{"name", d.contains("name") ? d.at("name") : json::value(nullptr)},
                     {"description", d.contains("description") ? d.at("description") : json::value("")},
                     {"inputSchema", d.contains("inputSchema") ? d.at("inputSchema") : json::value(json::object{})}};
  return policies::sha256_hex(json::serialize(canonical(parts)));
}

tool_pins::tool_pins(std::unique_ptr<connectors::sqlite_db> db) : db_(std::move(db)) {}
tool_pins::~tool_pins() = default;

result<std::shared_ptr<tool_pins>> tool_pins::of_database(const std::string& database) {
  static std::mutex m;
  static std::map<std::string, std::weak_ptr<tool_pins>> open;
  std::lock_guard lock(m);
  if (auto existing = open[database].lock())
    return existing;
  auto db = connectors::sqlite_db::open(database);
  if (!db)
    return db.error();
  try {
    (*db)->exec("CREATE TABLE IF NOT EXISTS mcp_tool_pins (server TEXT NOT NULL, tool TEXT NOT NULL,"
                " digest TEXT NOT NULL, definition TEXT NOT NULL, pending_digest TEXT, pending_definition TEXT,"
                " first_seen TEXT NOT NULL, updated_at TEXT NOT NULL, approved_by TEXT NOT NULL DEFAULT '',"
                " PRIMARY KEY (server, tool)) WITHOUT ROWID");
  } catch (const std::exception& e) {
    return make_error(error_code::internal_error, "cannot create the MCP tool pins table",
                      json::object{{"path", database}, {"reason", e.what()}});
  }
  auto pins = std::make_shared<tool_pins>(std::move(db).value());
  open[database] = pins;
  return pins;
}

result<tool_pins::verdict> tool_pins::check(const std::string& server, const json::object& definition,
                                            const std::string& now) {
  verdict v;
  v.current_digest = definition_digest(definition);
  const auto tool = std::string(get_string(definition, "name").value_or(""));
  std::lock_guard lock(m_);
  try {
    connectors::sqlite_statement find(db_->handle(), "SELECT digest FROM mcp_tool_pins WHERE server = ?1 AND tool = ?2");
    find.bind(1, std::string_view(server));
    find.bind(2, std::string_view(tool));
    if (!find.step()) {
      connectors::sqlite_statement pin(db_->handle(),
                                       "INSERT INTO mcp_tool_pins(server, tool, digest, definition, first_seen, updated_at)"
                                       " VALUES (?1, ?2, ?3, ?4, ?5, ?5)");
      pin.bind(1, std::string_view(server));
      pin.bind(2, std::string_view(tool));
      pin.bind(3, std::string_view(v.current_digest));
      pin.bind(4, std::string_view(json::serialize(definition)));
      pin.bind(5, std::string_view(now));
      pin.step();
      v.first_sight = true;
      v.pinned_digest = v.current_digest;
      return v;
    }
    v.pinned_digest = find.column_text(0);
    v.allowed = v.pinned_digest == v.current_digest;
    if (!v.allowed) {
      connectors::sqlite_statement pending(db_->handle(),
                                           "UPDATE mcp_tool_pins SET pending_digest = ?3, pending_definition = ?4,"
                                           " updated_at = ?5 WHERE server = ?1 AND tool = ?2"
                                           " AND (pending_digest IS NULL OR pending_digest <> ?3)");
      pending.bind(1, std::string_view(server));
      pending.bind(2, std::string_view(tool));
      pending.bind(3, std::string_view(v.current_digest));
      pending.bind(4, std::string_view(json::serialize(definition)));
      pending.bind(5, std::string_view(now));
      pending.step();
    }
    return v;
  } catch (const std::exception& e) {
    return db_error(e);
  }
}

error_info tool_pins::approve(const std::string& server, const std::string& tool, const std::string& digest,
                              const std::string& by, const std::string& now) {
  std::lock_guard lock(m_);
  try {
    connectors::sqlite_statement find(db_->handle(),
                                      "SELECT pending_digest FROM mcp_tool_pins WHERE server = ?1 AND tool = ?2");
    find.bind(1, std::string_view(server));
    find.bind(2, std::string_view(tool));
    if (!find.step())
      return make_error(error_code::not_found, "no pinned MCP tool " + server + " " + tool,
                        json::object{{"server", server}, {"tool", tool}});
    const auto pending = find.column_is_null(0) ? std::string{} : find.column_text(0);
    if (pending != digest)
      return make_error(error_code::conflict, "the digest is not the changed definition waiting for approval",
                        json::object{{"server", server}, {"tool", tool}, {"digest", digest},
                                     {"pending_digest", pending.empty() ? json::value(nullptr) : json::value(pending)}});
    connectors::sqlite_statement st(db_->handle(),
                                    "UPDATE mcp_tool_pins SET digest = pending_digest, definition = pending_definition,"
                                    " pending_digest = NULL, pending_definition = NULL, updated_at = ?3, approved_by = ?4"
                                    " WHERE server = ?1 AND tool = ?2");
    st.bind(1, std::string_view(server));
    st.bind(2, std::string_view(tool));
    st.bind(3, std::string_view(now));
    st.bind(4, std::string_view(by));
    st.step();
    return {};
  } catch (const std::exception& e) {
    return db_error(e);
  }
}

result<json::array> tool_pins::list() {
  std::lock_guard lock(m_);
  try {
    connectors::sqlite_statement st(db_->handle(),
                                    "SELECT server, tool, digest, pending_digest, first_seen, updated_at, approved_by"
                                    " FROM mcp_tool_pins ORDER BY server, tool");
    json::array out;
    while (st.step()) {
      const bool changed = !st.column_is_null(3);
      out.push_back(json::object{{"server", st.column_text(0)},
                                 {"tool", st.column_text(1)},
                                 {"digest", st.column_text(2)},
                                 {"state", changed ? "changed" : "pinned"},
                                 {"pending_digest", changed ? json::value(st.column_text(3)) : json::value(nullptr)},
                                 {"first_seen", st.column_text(4)},
                                 {"updated_at", st.column_text(5)},
                                 {"approved_by", st.column_text(6)}});
    }
    return out;
  } catch (const std::exception& e) {
    return db_error(e);
  }
}

} // namespace opex::gateway
