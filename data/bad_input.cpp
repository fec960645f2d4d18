#include "data/bad_input.h"

#include "base/error.h"

namespace ptl::data {

OnBad parse_on_bad(const std::string& s) {
  if (s == "error") return OnBad::Error;
  if (s == "skip") return OnBad::Skip;
  fail(str("--on-bad-image expects 'error' or 'skip', got '", s, "'"));
}

void BadInput::report(const std::string& msg) {
  if (policy_ == OnBad::Error)
    fail(str(msg, " (", skip_setting_, " skips such inputs with a counted warning)"));
  ++count_;
  std::lock_guard<std::mutex> lock(mu_);
  messages_.push_back(msg);
}

std::vector<std::string> BadInput::messages() const {
  std::lock_guard<std::mutex> lock(mu_);
  return messages_;
}

}  // namespace ptl::data
