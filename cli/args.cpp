#include "cli/args.h"

#include <cstdio>

#include "base/error.h"

namespace ptl::cli {

Args::Args(std::string usage, std::set<std::string> flags, std::set<std::string> switches)
    : usage_(std::move(usage)), flags_(std::move(flags)), switches_(std::move(switches)) {}

bool Args::parse(const std::vector<std::string>& argv) {
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (a == "--help" || a == "-h") {
      std::printf("%s\n", usage_.c_str());
      return false;
    }
    if (a.rfind("--", 0) != 0) {
      positional_.push_back(a);
      continue;
    }
    std::string key = a.substr(2), value;
    bool inline_value = false;
    if (auto eq = key.find('='); eq != std::string::npos) {
      value = key.substr(eq + 1);
      key = key.substr(0, eq);
      inline_value = true;
    }
    if (switches_.count(key)) {
      PTL_CHECK(!inline_value, "--", key, " takes no value\n", usage_);
      on_.insert(key);
    } else if (flags_.count(key)) {
      if (!inline_value) {
        PTL_CHECK(i + 1 < argv.size(), "--", key, " needs a value\n", usage_);
        value = argv[++i];
      }
      values_[key] = value;
      repeated_[key].push_back(value);
    } else {
      fail(str("unknown option --", key, "\n", usage_));
    }
  }
  return true;
}

std::string Args::get(const std::string& k, const std::string& def) const {
  auto it = values_.find(k);
  return it == values_.end() ? def : it->second;
}

std::string Args::require(const std::string& k) const {
  auto it = values_.find(k);
  PTL_CHECK(it != values_.end(), "missing required option --", k, "\n", usage_);
  return it->second;
}

long long Args::get_int(const std::string& k, long long def) const {
  auto it = values_.find(k);
  if (it == values_.end()) return def;
  try {
    size_t used = 0;
    long long v = std::stoll(it->second, &used);
    if (used == it->second.size()) return v;
  } catch (const std::exception&) {
  }
  fail(str("--", k, " expects an integer, got '", it->second, "'"));
}

double Args::get_double(const std::string& k, double def) const {
  auto it = values_.find(k);
  if (it == values_.end()) return def;
  try {
    size_t used = 0;
    double v = std::stod(it->second, &used);
    if (used == it->second.size()) return v;
  } catch (const std::exception&) {
  }
  fail(str("--", k, " expects a number, got '", it->second, "'"));
}

}  // namespace ptl::cli
