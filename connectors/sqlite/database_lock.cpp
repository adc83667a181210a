// flock(2) on the database's lock file.
#include "opex/connectors/database_lock.hpp"

#include <boost/json/object.hpp>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

namespace opex::connectors {

result<std::unique_ptr<database_lock>> database_lock::acquire(const std::string& database) {
  if (database.empty() || database == ":memory:")
    return std::unique_ptr<database_lock>{};
  std::string path = database + ".lock";
  std::error_code ec;
  auto dir = std::filesystem::path(path).parent_path();
  if (!dir.empty() && !std::filesystem::exists(dir, ec)) {
    std::filesystem::create_directories(dir, ec);
    std::filesystem::permissions(dir, std::filesystem::perms::owner_all, ec);  // 0700, as sqlite_db::open
  }
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0)
    return make_error(error_code::internal_error, "cannot create the lock file " + path,
                      boost::json::object{{"lock_file", path}, {"reason", std::strerror(errno)}});
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    char buf[32] = {};
    auto n = ::pread(fd, buf, sizeof(buf) - 1, 0);
    ::close(fd);
    std::string pid = n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string("unknown");
    while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' '))
      pid.pop_back();
    if (err == EWOULDBLOCK)
      return make_error(error_code::database_locked,
                        "the database " + database + " is in use by another opex engine (pid " + pid
                          + "); stop it, or talk to it (opexd's API) instead of opening the file",
                        boost::json::object{{"database", database}, {"lock_file", path}, {"pid", pid}});
    return make_error(error_code::internal_error, "cannot lock " + path,
                      boost::json::object{{"lock_file", path}, {"reason", std::strerror(err)}});
  }
  auto pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) == 0)
    (void)::pwrite(fd, pid.data(), pid.size(), 0);
  return std::unique_ptr<database_lock>(new database_lock(fd, std::move(path)));
}

database_lock::~database_lock() {
  ::flock(fd_, LOCK_UN);
  ::close(fd_);
}

} // namespace opex::connectors
