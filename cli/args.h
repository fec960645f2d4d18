// A small flag parser for subcommands: `--key value`, `--key=value` and boolean `--flag`.
// Unknown flags are errors that list the accepted ones; `--help` prints the usage text.
#pragma once
#include <map>
#include <set>
#include <string>
#include <vector>

namespace ptl::cli {

class Args {
 public:
  // `usage` is printed for --help and on errors. `flags` are the accepted value flags,
  // `switches` the accepted boolean ones (names without the leading dashes).
  Args(std::string usage, std::set<std::string> flags, std::set<std::string> switches = {});
  // Returns false when --help was given (usage already printed). Throws ptl::Error otherwise.
  bool parse(const std::vector<std::string>& argv);

  bool has(const std::string& k) const { return values_.count(k) || on_.count(k); }
  std::string get(const std::string& k, const std::string& def = "") const;
  std::string require(const std::string& k) const;
  long long get_int(const std::string& k, long long def) const;
  double get_double(const std::string& k, double def) const;
  bool flag(const std::string& k) const { return on_.count(k) > 0; }
  // Every value of a flag given more than once, in order (get() returns the last).
  std::vector<std::string> all(const std::string& k) const {
    auto it = repeated_.find(k);
    return it == repeated_.end() ? std::vector<std::string>{} : it->second;
  }
  const std::vector<std::string>& positional() const { return positional_; }

 private:
  std::string usage_;
  std::set<std::string> flags_, switches_, on_;
  std::map<std::string, std::string> values_;
  std::map<std::string, std::vector<std::string>> repeated_;
  std::vector<std::string> positional_;
};

}  // namespace ptl::cli
