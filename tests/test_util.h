// Small helpers shared by the tests.
#pragma once
#include <sys/resource.h>
#include <sys/wait.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "base/error.h"
#include "kernels/conv_geometry.h"

namespace ptl::test {

// n values uniform in [lo, hi) from a Mersenne Twister seeded with `seed`, drawn in double and
// rounded to T (the same values for float and double up to that rounding).
template <class T>
std::vector<T> random_values(size_t n, unsigned seed, double lo = -1, double hi = 1) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<double> u(lo, hi);
  std::vector<T> v(n);
  for (T& x : v) x = static_cast<T>(u(gen));
  return v;
}

// The geometry of a convolution of an N x C x H x W input with Cout filters of KH x KW, stride
// (sh, sw), padding (ph, pw) and dilation (dh, dw); the output size as PyTorch computes it.
inline ConvGeometry conv_geometry(int64_t N, int64_t C, int64_t H, int64_t W, int64_t Cout,
                                  int64_t KH, int64_t KW, int64_t sh, int64_t sw, int64_t ph,
                                  int64_t pw, int64_t dh, int64_t dw) {
  const int64_t OH = (H + 2 * ph - dh * (KH - 1) - 1) / sh + 1;
  const int64_t OW = (W + 2 * pw - dw * (KW - 1) - 1) / sw + 1;
  return {N, C, H, W, Cout, KH, KW, sh, sw, ph, pw, dh, dw, OH, OW};
}

// A fresh directory under $TMPDIR (or /tmp), removed with its contents at scope exit.
class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string tmpl = std::string(base ? base : "/tmp") + "/ptl_test_XXXXXX";
    PTL_CHECK(::mkdtemp(tmpl.data()) != nullptr, "cannot create a temporary directory");
    path_ = tmpl;
  }
  ~TempDir() { std::system(("rm -rf '" + path_ + "'").c_str()); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// The bytes of the file at `path`; "" when it cannot be read (a check on the text then fails).
inline std::string file_text(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

// Every file under `dir` with its bytes: an earlier run's files, compared before and after.
inline std::map<std::string, std::string> folder_snapshot(const std::string& dir) {
  std::map<std::string, std::string> files;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir))
    if (e.is_regular_file()) files[e.path().string()] = file_text(e.path().string());
  return files;
}

// The ptl binary the CLI tests run: the build's, or PTL_TEST_BINARY where the tests run away
// from their build folder (scripts/gpu_run.sh runs them from a bundle on another machine).
inline std::string ptl_binary() {
  const char* moved = std::getenv("PTL_TEST_BINARY");
  return moved && *moved ? moved : PTL_BINARY;
}

// A fixture that tests/parity/make_fixtures.sh wrote: $PTL_PARITY_DIR/<path>.
inline std::string parity_fixture(const std::string& path) {
  const char* root = std::getenv("PTL_PARITY_DIR");
  PTL_CHECK(root != nullptr && *root != '\0',
            "PTL_PARITY_DIR is not set: run the parity tests through ctest (parity_fixtures "
            "writes them)");
  return std::string(root) + "/" + path;
}

// Runs the ptl binary with `args` (shell syntax), after environment assignments `env`
// ("NAME=value ..."; may be empty), and returns its exit code and its stdout and stderr together
// in `out`, or, with `stderr_apart`, stdout in `out` and stderr in `err`.
struct CliRun {
  int rc;
  std::string out, err;
};
inline CliRun run_ptl_env(const std::string& env, const std::string& args,
                          bool stderr_apart = false) {
  std::optional<TempDir> dir;  // for stderr_apart: stderr's file
  if (stderr_apart) dir.emplace();
  const std::string redirect = dir ? " 2>" + dir->file("stderr.txt") : " 2>&1";
  FILE* p = ::popen((env + " " + ptl_binary() + " " + args + redirect).c_str(), "r");
  PTL_CHECK(p != nullptr, "cannot start ", ptl_binary());
  CliRun r{-1, "", ""};
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) r.out.append(buf, n);
  const int status = ::pclose(p);
  r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  if (dir) r.err = file_text(dir->file("stderr.txt"));
  return r;
}
inline CliRun run_ptl(const std::string& args) {
  return run_ptl_env("", args);
}

// Limits the size of files this process writes (RLIMIT_FSIZE) while in scope: writes past it
// fail with EFBIG, as on a full disk. SIGXFSZ is ignored meanwhile so the write returns an error.
class FileSizeLimit {
 public:
  explicit FileSizeLimit(rlim_t bytes) {
    ::getrlimit(RLIMIT_FSIZE, &old_);
    old_handler_ = std::signal(SIGXFSZ, SIG_IGN);
    rlimit lim = old_;
    lim.rlim_cur = bytes;
    ::setrlimit(RLIMIT_FSIZE, &lim);
  }
  ~FileSizeLimit() {
    ::setrlimit(RLIMIT_FSIZE, &old_);
    std::signal(SIGXFSZ, old_handler_);
  }
  FileSizeLimit(const FileSizeLimit&) = delete;
  FileSizeLimit& operator=(const FileSizeLimit&) = delete;

 private:
  rlimit old_{};
  void (*old_handler_)(int) = nullptr;
};

}  // namespace ptl::test
