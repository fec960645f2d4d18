// What to do with a bad input (an undecodable image, a file name or list line that does not
// parse): stop with an error naming the file and line, or skip it and count a warning.
#pragma once
#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

namespace ptl::data {

enum class OnBad { Error, Skip };

// Parses "error" or "skip" (the --on-bad-image values).
OnBad parse_on_bad(const std::string& s);

// Thread-safe: loader workers report into one shared instance.
class BadInput {
 public:
  // skip_setting: how the user asks for Skip where this policy came from (`ptl dataset`'s option,
  // or the config key for training); the error names it as the fix.
  explicit BadInput(OnBad policy = OnBad::Error, std::string skip_setting = "--on-bad-image skip")
      : policy_(policy), skip_setting_(std::move(skip_setting)) {}
  OnBad policy() const { return policy_; }
  // Under Error throws ptl::Error(msg + the skip setting); under Skip counts it and keeps msg.
  void report(const std::string& msg);
  int64_t count() const { return count_.load(); }
  std::vector<std::string> messages() const;

 private:
  OnBad policy_;
  std::string skip_setting_;
  std::atomic<int64_t> count_{0};
  mutable std::mutex mu_;
  std::vector<std::string> messages_;
};

}  // namespace ptl::data
