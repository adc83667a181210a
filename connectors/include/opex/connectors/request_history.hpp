// Request history: one indexed row per Kimmy classification, written in the journal's
// transaction, so the context Kimmy and Prolex read before planning (the user's recent
// requests, those of one intent) is an index range instead of JSON over the journal
// (docs/kimmy.md, "Context from the journal").
#pragma once

#include "opex/contracts.hpp"

#include <boost/json/object.hpp>

#include <cstdint>
#include <string_view>

namespace opex::connectors {

class sqlite_db;

/// The `request_history` table: (tenant, user_id, timestamp, journal_id, request_id, intent,
/// language, text, parameters, tools), one row per journal entry of agent kimmy and action
/// classification. `text` is the request's first 300 bytes and `parameters` the KimmyPayload's
/// parameters as JSON, both as the journal holds them (masked); `tools` the suggested tools as
/// a JSON array. Keyed by (tenant, user_id, timestamp, journal_id), indexed by (tenant,
/// user_id, intent, timestamp): both lists of history_query are one index range, newest first.
namespace request_history {

/// Creates the table and its index. When it is new and the journal already holds
/// classifications (a database made before it), fills it from them once, in SQL. Throws
/// std::runtime_error.
void ensure_schema(sqlite_db& db);

/// Records one journal entry when it is a classification (else nothing), in the caller's
/// transaction, after the entry's row was inserted as `journal_id`. Throws std::runtime_error.
void record(sqlite_db& db, const boost::json::object& entry, std::int64_t journal_id, std::string_view timestamp,
            std::string_view tenant);

/// The context of `q`, read on `db` (any connection to the journal's database):
/// {"recent": [request...] (the user's newest q.recent, any intent),
///  "same_intent": [request...] (the user's newest q.same_intent of q.intent; [] when q.intent
///  is ""), "failures": [{"tool", "request_id", "error_code" (null when none), "timestamp"}]
///  (per tool of q.tools and of the recent requests' tools, its newest q.failures failed or
///  timed-out steps in the tenant, newest first)}
/// where a request is {"request_id", "timestamp", "intent", "language", "text", "parameters"
/// (object), "tools" ([TOOL])}. A user_id of "" has no history (the lists are empty). Throws
/// std::runtime_error.
boost::json::object lookup(sqlite_db& db, const history_query& q);

} // namespace request_history

} // namespace opex::connectors
