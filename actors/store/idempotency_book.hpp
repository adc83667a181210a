// Idempotency keys as the store sees them (docs/durability.md, "Idempotency keys"): claims of
// requests not written yet, request rows waiting in the batch, and the committed rows of the
// plan store. Plain logic owned by the store actor; tested without actors.
#pragma once

#include "../messages.hpp"

#include <map>
#include <string>

namespace opex::actors {

/// Decides claims in the order the store receives them, so concurrent repeats of one key
/// execute once. Not thread-safe: one owner (the store).
class idempotency_book {
public:
  /// Claims `c.key` for `c.tenant` (see claim_reply for the outcomes): in-memory claims and
  /// buffered rows first, then the committed rows of `db`. A fresh claim holds until the
  /// request's row is buffered. The request id itself must be unused by any other request, of
  /// any tenant (request ids are global; another tenant's is never overwritten).
  claim_reply claim(const idempotency_claim& c, connectors::plan_state_store& db);

  /// A request row entered the batch (it replaces its claim until the batch is committed).
  void buffered(const request_state& row);

  /// The batch was committed: its rows are found in the database from now on.
  void committed();

  /// Claims and buffered rows held now (bounded by the requests in flight).
  std::size_t size() const noexcept { return claims_.size() + rows_.size(); }

private:
  struct held_claim {
    std::string request_id;
    std::string digest;
  };
  static std::string slot(const std::string& tenant, const std::string& key) { return tenant + '\x1f' + key; }
  claim_reply judge(const idempotency_claim& c, const request_state& row) const;

  std::map<std::string, held_claim> claims_;     ///< tenant/key -> claim
  std::map<std::string, std::string> claimed_ids_;  ///< request id -> tenant/key
  std::map<std::string, request_state> rows_;    ///< tenant/key -> buffered row
  std::map<std::string, std::string> row_ids_;   ///< request id -> tenant of a buffered row
};

} // namespace opex::actors
