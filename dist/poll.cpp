#include "dist/poll.h"

#include <algorithm>
#include <chrono>
#include <thread>

#include "base/error.h"

namespace ptl::dist {

double poll_until(const std::function<bool()>& done, double timeout_s, bool* timed_out) {
  using Clock = std::chrono::steady_clock;
  const Clock::time_point start = Clock::now();
  auto waited = [&] { return std::chrono::duration<double>(Clock::now() - start).count(); };
  *timed_out = false;
  for (int polls = 0;; ++polls) {
    if (done()) return waited();
    if (polls < 1000) continue;
    if (timeout_s > 0 && waited() > timeout_s) {
      *timed_out = true;
      return waited();
    }
    std::this_thread::sleep_for(std::chrono::microseconds(std::min(1000, polls - 999)));
  }
}

std::string stuck_message(double waited, const char* what, double timeout_s) {
  return str("waited ", static_cast<int64_t>(waited), " s in ", what,
             " for the other ranks (dist.timeout_s=", timeout_s,
             "): one of them is stuck; ending the job");
}

}  // namespace ptl::dist
