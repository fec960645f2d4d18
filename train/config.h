// Training configuration: YAML files with dotted-key overrides (`optim.lr=1e-3`).
//
// Every key the trainer reads is declared once, with its default and meaning, in config.cpp;
// a YAML key or override that is not declared is an error naming the file and the key (a typo
// never silently trains with a default). The effective configuration (defaults + file +
// overrides) is printed at start and saved beside the checkpoints as YAML.
#pragma once
#include <map>
#include <string>
#include <vector>

namespace ptl {

class Config {
 public:
  Config();  // all defaults
  // A YAML file; a top-level `base: other.yaml` (relative to the file) is loaded first and
  // overridden by the file's own keys.
  static Config from_file(const std::string& path);
  // Parses YAML text; `what` names it in errors.
  static Config from_yaml(const std::string& text, const std::string& what);
  // `key=value` with a declared dotted key; the value is YAML (`[320, 360]` for lists).
  void apply_override(const std::string& assignment);
  void set(const std::string& key, const std::string& value, const std::string& what = "override");

  std::string str(const std::string& key) const;
  int64_t integer(const std::string& key) const;
  double number(const std::string& key) const;
  bool boolean(const std::string& key) const;
  // The position of the value in the key's "enum:a|b|c" rule (a: 0): train/settings.h turns it
  // into the enum declared in the same order.
  int choice(const std::string& key) const;
  std::vector<int64_t> int_list(const std::string& key) const;
  std::vector<std::string> string_list(const std::string& key) const;

  // Nested YAML of every key, with comments giving each key's meaning.
  std::string to_yaml(bool with_comments = false) const;
  // One key's value as to_yaml writes it (`[320, 360]`, `2e-4`): two spellings of one value
  // compare equal.
  std::string canonical(const std::string& key) const;

 private:
  static Config from_file_depth(const std::string& path, int depth);
  const std::string& raw(const std::string& key) const;
  std::map<std::string, std::string> values_;  // dotted key -> YAML scalar or flow sequence
};

// The declared keys with their defaults, one-line help and allowed values, in display order.
// Every value a file or an override sets is checked against its key's rule at once, so a bad
// value stops the command before any work, naming the file, the key, the value and what is
// allowed. Rules: "enum:a|b|c", "int>=N", "num>0", "num>=0", "num0..1", "bool", "strings",
// "ints>=0", "model" (a model name), "format" (a dataset format), "device"; "" allows any text.
struct ConfigKey {
  const char* key;
  const char* value;
  const char* help;
  const char* rule;
};
const std::vector<ConfigKey>& config_keys();

// A declared key whose value differs between two configs (values as config.yaml writes them).
struct ConfigDifference {
  std::string key, before, now;
};
// Every such key, in declaration order: what a resumed run or a study's finished run would
// change (train/run_folder.h decides which differences are allowed).
std::vector<ConfigDifference> config_differences(const Config& before, const Config& now);

}  // namespace ptl
