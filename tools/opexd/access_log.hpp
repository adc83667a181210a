// opexd's access log (docs/operations.md, "Logs"): one JSON line per HTTP answer, written by
// spdlog's asynchronous logger so an I/O thread never waits on the disk.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

namespace spdlog {
class logger;
}

namespace opex::tools {

/// One answered request. No header or body is logged: nothing here can hold a secret.
struct access_record {
  std::string method;
  std::string path;   ///< the path without its query
  std::string route;  ///< the route table's path, "" when none matched
  int status = 0;
  double duration_ms = 0.0;
  std::string request_id;
  std::string tenant;    ///< "" before authentication
  std::string trace_id;  ///< W3C trace id when the request carried a traceparent, else ""
  std::size_t bytes = 0; ///< body bytes answered
};

/// `target`: "stderr", "stdout", "off", or a file path (appended to). The line is
/// {"time", "level": "info", "msg": "http", "method", "path", "route", "status", "duration_ms",
/// "request_id", "tenant", "trace_id", "bytes"}. When the queue (8192 lines) is full the oldest
/// line waiting is dropped, never the request. Throws spdlog::spdlog_ex when the file cannot be
/// opened.
class access_log {
public:
  explicit access_log(const std::string& target);
  ~access_log();
  void write(const access_record& r);
  void flush();

private:
  std::shared_ptr<spdlog::logger> logger_;
};

} // namespace opex::tools
