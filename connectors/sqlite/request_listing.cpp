// Request listings over the requests and steps tables (request_listing.hpp).
#include "request_listing.hpp"

#include "opex/connectors/sqlite_db.hpp"
#include "opex/json_util.hpp"

#include <boost/json/array.hpp>

#include <algorithm>

namespace opex::connectors {

namespace json = boost::json;

json::object request_listing(sqlite_db& db, const request_filter& f) {
  // Newest first by rowid: a request's row is inserted when it is admitted and updated in place
  // (ON CONFLICT DO UPDATE keeps the rowid), so no index on created_at is needed.
  std::string sql =
    "SELECT id, tenant, user_id, status, json_extract(output, '$.type'), created_at, updated_at,"
    " (SELECT json_group_array(tool) FROM (SELECT tool FROM steps WHERE request_id = requests.id ORDER BY step))"
    " FROM requests WHERE 1 = 1";
  if (!f.tenant.empty())
    sql += " AND tenant = ?1";
  if (!f.status.empty())
    sql += " AND status = ?2";
  if (!f.tool.empty())
    sql += " AND EXISTS (SELECT 1 FROM steps WHERE request_id = requests.id AND tool = ?3)";
  if (!f.since.empty())
    sql += " AND created_at >= ?4";
  if (!f.until.empty())
    sql += " AND created_at < ?5";
  sql += " ORDER BY rowid DESC LIMIT ?6";
  sqlite_statement st(db.handle(), sql);
  if (!f.tenant.empty())
    st.bind(1, std::string_view(f.tenant));
  if (!f.status.empty())
    st.bind(2, std::string_view(f.status));
  if (!f.tool.empty())
    st.bind(3, std::string_view(f.tool));
  if (!f.since.empty())
    st.bind(4, std::string_view(f.since));
  if (!f.until.empty())
    st.bind(5, std::string_view(f.until));
  st.bind(6, static_cast<std::int64_t>(std::clamp<std::size_t>(f.limit, 1, 500)));
  json::array out;
  while (st.step()) {
    json::array tools;
    if (!st.column_is_null(7))
      if (auto parsed = parse_json(st.column_text(7)); parsed && parsed->is_array())
        tools = std::move(parsed->get_array());
    out.push_back(json::object{{"id", st.column_text(0)},
                               {"tenant", st.column_text(1)},
                               {"user_id", st.column_text(2)},
                               {"status", st.column_text(3)},
                               {"type", st.column_is_null(4) ? json::value(nullptr) : json::value(st.column_text(4))},
                               {"tools", std::move(tools)},
                               {"created_at", st.column_text(5)},
                               {"updated_at", st.column_text(6)}});
  }
  return json::object{{"requests", std::move(out)}};
}

} // namespace opex::connectors
