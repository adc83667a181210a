// The list_workflows operation (N8N_LIST_WORKFLOWS).
#include "n8n_op.hpp"

namespace opex::connectors::n8n_detail {

// -- list_workflows -------------------------------------------------------------------------------

/// One page of GET /workflows; the next page follows until `limit` workflows or the last page.
void list_page(const op_ptr& op, std::string query, std::int64_t limit, std::shared_ptr<json::array> out,
               const std::string& cursor) {
  op->api("GET", "/workflows" + query + (cursor.empty() ? "" : "&cursor=" + url_encode(cursor)), std::nullopt,
          [op, query, limit, out](int, json::value v) {
            std::string next;
            if (v.is_object()) {
              if (const auto* data = get_member(v.get_object(), "data"); data && data->is_array())
                for (const auto& w : data->get_array()) {
                  if (!w.is_object() || static_cast<std::int64_t>(out->size()) >= limit)
                    continue;
                  const auto& wo = w.get_object();
                  out->push_back(json::object{{"id", get_string(wo, "id").value_or("")},
                                              {"name", get_string(wo, "name").value_or("")},
                                              {"active", wo.contains("active") ? wo.at("active") : json::value(false)},
                                              {"tags", tag_names(w)},
                                              {"node_count", node_count(w)},
                                              {"created_at", get_string(wo, "createdAt").value_or("")},
                                              {"updated_at", get_string(wo, "updatedAt").value_or("")}});
                }
              next = std::string(get_string(v.get_object(), "nextCursor").value_or(""));
            }
            if (!next.empty() && static_cast<std::int64_t>(out->size()) < limit) {
              list_page(op, query, limit, out, next);
              return;
            }
            op->succeed(json::object{{"count", static_cast<std::int64_t>(out->size())}, {"workflows", std::move(*out)}});
          });
}

void list_workflows(const op_ptr& op) {
  const auto& p = op->payload();
  std::int64_t limit = 100;
  if (const auto* l = get_member(p, "limit"); l && l->is_int64())
    limit = std::clamp<std::int64_t>(l->get_int64(), 1, 1000);
  std::string query = "?limit=" + std::to_string(std::min<std::int64_t>(limit, 250));
  if (const auto* a = get_member(p, "active"); a && a->is_bool())
    query += std::string("&active=") + (a->get_bool() ? "true" : "false");
  if (auto n = get_string(p, "name"))
    query += "&name=" + url_encode(*n);
  auto tags = strings_of(p, "tags");
  if (!tags.empty()) {
    std::string joined;
    for (const auto& t : tags)
      joined += (joined.empty() ? "" : ",") + t;
    query += "&tags=" + url_encode(joined);
  }
  list_page(op, std::move(query), limit, std::make_shared<json::array>(), "");
}


} // namespace opex::connectors::n8n_detail
