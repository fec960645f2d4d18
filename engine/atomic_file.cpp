#include "engine/atomic_file.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <thread>

#include "base/error.h"

namespace ptl {

namespace {
// fsync of the folder holding `path`: makes a rename in it durable (POSIX leaves that to the
// folder's own sync).
void sync_folder(const std::string& path) {
  const size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "."
                          : slash == 0               ? "/"
                                                     : path.substr(0, slash);
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  PTL_CHECK(fd >= 0, dir, ": cannot open the folder to sync it (", std::strerror(errno), ")");
  const int rc = ::fsync(fd), err = errno;
  ::close(fd);
  PTL_CHECK(rc == 0, dir, ": could not sync the folder after writing ", path, " (",
            std::strerror(err), ")");
}
}  // namespace

void write_file_atomic(const std::string& path, const std::string& bytes) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  PTL_CHECK(fd >= 0, path, ": cannot write (", std::strerror(errno),
            "); check that the folder exists and is writable");
  // Test-only: PTL_TEST_WRITE_DELAY_MS pauses halfway through the bytes, so that a crash test's
  // kills land inside writes (scripts/crash_test.sh).
  static const char* delay = std::getenv("PTL_TEST_WRITE_DELAY_MS");
  const size_t pause_at = delay ? bytes.size() / 2 : bytes.size();
  size_t done = 0;
  while (done < bytes.size()) {
    const size_t end = done < pause_at ? pause_at : bytes.size();
    const ssize_t w = ::write(fd, bytes.data() + done, end - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      const int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      fail(str(path, ": write failed after ", done, " of ", bytes.size(), " bytes (",
               std::strerror(err), "); the previous file, if any, is untouched"));
    }
    done += static_cast<size_t>(std::max<ssize_t>(w, 0));
    if (done == pause_at && delay)
      std::this_thread::sleep_for(std::chrono::milliseconds(std::atoi(delay)));
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    fail(str(path, ": could not flush to disk (", std::strerror(err),
             "); the previous file, if any, is untouched"));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    fail(str(path, ": could not rename the finished file into place (", std::strerror(err), ")"));
  }
  sync_folder(path);
}

void check_output_folder(const std::string& dir, const std::string& option) {
  namespace fs = std::filesystem;
  PTL_CHECK(!dir.empty(), option, " is empty; give the output folder");
  fs::path p = fs::absolute(fs::path(dir)).lexically_normal();
  std::error_code ec;
  while (!fs::exists(p, ec) && p.has_parent_path() && p != p.parent_path()) p = p.parent_path();
  PTL_CHECK(fs::is_directory(p, ec), option, " ", dir,
            ": cannot use it as the output folder: ", p.string(),
            " is a file, not a folder; choose another ", option);
  PTL_CHECK(::access(p.c_str(), W_OK | X_OK) == 0, option, " ", dir,
            ": cannot write the output folder there (", p.string(), ": ", std::strerror(errno),
            "); choose a folder you can write as ", option);
}

void create_output_folder(const std::string& dir, const std::string& option) {
  check_output_folder(dir, option);
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  PTL_CHECK(!ec, option, " ", dir, ": cannot create the output folder (", ec.message(),
            "); choose a folder you can write as ", option);
}

int remove_stale_temporaries(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  int removed = 0;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    const size_t at = name.rfind(".tmp.");
    if (at == std::string::npos || at + 5 >= name.size()) continue;
    const std::string digits = name.substr(at + 5);
    if (!std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
        digits.size() > 9)
      continue;
    const pid_t pid = static_cast<pid_t>(std::stol(digits));
    if (pid == ::getpid() || ::kill(pid, 0) == 0 || errno != ESRCH)
      continue;  // alive, or not ours to judge
    if (fs::remove(entry.path(), ec)) ++removed;
  }
  return removed;
}

}  // namespace ptl
