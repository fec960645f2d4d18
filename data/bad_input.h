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
  explicit BadInput(OnBad policy = OnBad::Error) : policy_(policy) {}
  OnBad policy() const { return policy_; }
  // Under Error throws ptl::Error(msg); under Skip counts it and keeps the message.
  void report(const std::string& msg);
  int64_t count() const { return count_.load(); }
  std::vector<std::string> messages() const;

 private:
  OnBad policy_;
  std::atomic<int64_t> count_{0};
  mutable std::mutex mu_;
  std::vector<std::string> messages_;
};

}  // namespace ptl::data
