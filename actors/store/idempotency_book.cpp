// Idempotency claims.
#include "idempotency_book.hpp"

#include "opex/connectors/storage.hpp"

namespace opex::actors {

namespace {

claim_reply conflict(std::string message, boost::json::object details) {
  claim_reply r;
  r.outcome = claim_reply::kind::conflict;
  r.error = make_error(error_code::idempotency_conflict, std::move(message), std::move(details));
  return r;
}

} // namespace

claim_reply idempotency_book::judge(const idempotency_claim& c, const request_state& row) const {
  if (!row.body_digest.empty() && row.body_digest != c.digest)
    return conflict("the idempotency key " + c.key + " was used with another body",
                    {{"idempotency_key", c.key}, {"request_id", row.id}});
  claim_reply r;
  r.request_id = row.id;
  if (row.running() || !row.result.is_object()) {
    r.outcome = claim_reply::kind::running;
  } else {
    r.outcome = claim_reply::kind::replay;
    r.stored = row.result;
  }
  return r;
}

claim_reply idempotency_book::claim(const idempotency_claim& c, connectors::plan_state_store& db) {
  auto s = slot(c.tenant, c.key);
  if (auto it = claims_.find(s); it != claims_.end()) {
    if (it->second.digest != c.digest)
      return conflict("the idempotency key " + c.key + " was used with another body",
                      {{"idempotency_key", c.key}, {"request_id", it->second.request_id}});
    claim_reply r;
    r.outcome = claim_reply::kind::running;
    r.request_id = it->second.request_id;
    return r;
  }
  if (auto it = rows_.find(s); it != rows_.end())
    return judge(c, it->second);
  if (auto row = db.find_by_key(c.tenant, c.key))
    return judge(c, *row);
  // The key is new. Its request id must be new too, whoever used it.
  bool id_used = claimed_ids_.contains(c.request_id) || row_ids_.contains(c.request_id)
                 || db.find_request(c.request_id, "").has_value();
  if (id_used)
    return conflict("the request id " + c.request_id + " is already used by another request",
                    {{"request_id", c.request_id}, {"idempotency_key", c.key}});
  claims_[s] = held_claim{c.request_id, c.digest};
  claimed_ids_[c.request_id] = s;
  claim_reply r;
  r.request_id = c.request_id;
  return r;
}

void idempotency_book::buffered(const request_state& row) {
  if (auto it = claimed_ids_.find(row.id); it != claimed_ids_.end()) {
    claims_.erase(it->second);
    claimed_ids_.erase(it);
  }
  row_ids_[row.id] = row.tenant;
  if (row.idempotency_key.empty())
    return;
  auto s = slot(row.tenant, row.idempotency_key);
  auto& kept = rows_[s];
  // Later rows of one request update its status and result; the first row holds the output.
  auto output = kept.output;
  kept = row;
  if (kept.output.is_null())
    kept.output = std::move(output);
}

void idempotency_book::committed() {
  rows_.clear();
  row_ids_.clear();
}

} // namespace opex::actors
