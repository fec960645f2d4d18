// One fuzz target = one body, PTL_FUZZ_TARGET(name) { ... input ... }, that parses `input` and
// checks what it got. The contract: every input parses or throws ptl::Error; any other exception,
// a crash or a sanitizer report is a finding. The body is compiled twice:
//   PTL_LIBFUZZER defined (tests/fuzz/CMakeLists.txt): it becomes LLVMFuzzerTestOneInput;
//   otherwise (ptl_tests): it registers in targets(), and the [fuzz] test in
//   tests/test_fuzz_parsers.cpp replays every file of tests/fuzz/corpus/<name>/ through it.
#pragma once
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <stdexcept>
#include <string>

#include "base/error.h"

namespace ptl::fuzz {

using Body = void (*)(const std::string& input);

inline std::map<std::string, Body>& targets() {
  static std::map<std::string, Body> all;
  return all;
}

// A broken invariant of a parse that succeeded. Not a ptl::Error, so the fuzzer reports it as
// a crash and the replay test as a failure.
inline void expect(bool cond, const char* what) {
  if (!cond) throw std::logic_error(std::string("fuzz invariant broken: ") + what);
}

// Writes `bytes` to `name` in this process's scratch folder (removed at exit) and returns the
// path: for parsers that read files (gzip, `base:` includes). The folder is on /dev/shm where
// there is one: writing to disk on every run cut the config target's rate threefold.
inline std::string scratch_file(const std::string& name, const std::string& bytes) {
  struct Dir {
    std::filesystem::path path =
        (std::filesystem::is_directory("/dev/shm") ? std::filesystem::path("/dev/shm")
                                                   : std::filesystem::temp_directory_path()) /
        ("ptl_fuzz_" + std::to_string(::getpid()));
    Dir() { std::filesystem::create_directories(path); }
    ~Dir() {
      std::error_code ec;
      std::filesystem::remove_all(path, ec);
    }
  };
  static const Dir dir;
  const std::string path = (dir.path / name).string();
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
  return path;
}

}  // namespace ptl::fuzz

#ifdef PTL_LIBFUZZER
#define PTL_FUZZ_ENTRY(name)                                                \
  extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) { \
    try {                                                                   \
      fuzz_##name(std::string(reinterpret_cast<const char*>(data), size));  \
    } catch (const ::ptl::Error&) {                                         \
    }                                                                       \
    return 0;                                                               \
  }
#else
#define PTL_FUZZ_ENTRY(name)                                  \
  [[maybe_unused]] static const bool fuzz_registered_##name = \
      (::ptl::fuzz::targets()[#name] = fuzz_##name, true);
#endif

#define PTL_FUZZ_TARGET(name)                        \
  static void fuzz_##name(const std::string& input); \
  PTL_FUZZ_ENTRY(name)                               \
  static void fuzz_##name(const std::string& input)
