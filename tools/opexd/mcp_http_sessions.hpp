// opexd's MCP sessions over Streamable HTTP (docs/mcp-gateway.md, "Over HTTP"): each one is
// named by its Mcp-Session-Id, bound to the API key that opened it, and may hold the GET
// stream its server-initiated notifications go to.
#pragma once

#include "reply_stream.hpp"

#include "opex/gateway/mcp_server.hpp"

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace opex::tools {

class mcp_http_sessions {
public:
  /// At most `max_sessions` at once: opening one more forgets the least recently used.
  explicit mcp_http_sessions(std::size_t max_sessions = 1000) : max_(max_sessions) {}

  /// Where tools/call progress comes from (opexd's engine_options::on_progress); may be null.
  gateway::progress_hub* progress = nullptr;

  /// Keeps `s` under a new session id (a UUID) for the key `fingerprint`; returns the id.
  std::string open(std::shared_ptr<gateway::mcp_session> s, const std::string& fingerprint);
  /// The session `id` if the key `fingerprint` opened it (another key's session is not found).
  std::shared_ptr<gateway::mcp_session> find(const std::string& id, const std::string& fingerprint);
  /// Ends session `id` (DELETE /mcp) and its GET stream; false when unknown.
  bool close(const std::string& id, const std::string& fingerprint);
  /// Makes `events` the session's GET stream (an older one is closed).
  void attach_events(const std::string& id, std::shared_ptr<reply_stream> events);
  /// After a reload: each session with a GET stream is told when its tools changed.
  void notify_list_changed();
  /// Every session ends (opexd stops): their GET streams close.
  void close_all();
  std::size_t size() const;

private:
  struct entry {
    std::shared_ptr<gateway::mcp_session> session;
    std::string fingerprint;
    std::chrono::steady_clock::time_point used;
    std::shared_ptr<reply_stream> events;
  };
  std::size_t max_;
  mutable std::mutex m_;
  std::map<std::string, entry, std::less<>> sessions_;
};

} // namespace opex::tools
