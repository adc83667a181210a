// The requests a listing returns (GET /v1/requests, the console), read on the report reader's
// connection (opex/connectors/storage.hpp, journal_reports::list_requests).
#pragma once

#include "opex/contracts.hpp"

#include <boost/json/object.hpp>

namespace opex::connectors {

class sqlite_db;

/// Requests matching `f`, newest first (the table's insertion order), at most f.limit (1 to
/// 500). JSON: journal_reports::list_requests. Throws std::runtime_error when SQLite fails.
boost::json::object request_listing(sqlite_db& db, const request_filter& f);

} // namespace opex::connectors
