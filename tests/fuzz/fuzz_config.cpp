// Training configurations. The input is two YAML files split at the first NUL byte: main.yaml
// and base.yaml, side by side in a scratch folder, so `base: base.yaml` (or a cycle through
// main.yaml) is followed as `ptl train --config` follows it. Every key a file sets is then
// read back with each typed getter, as the trainer would. (Config::to_yaml is left out: it
// re-parses all ~50 keys, which cut the rate to ~400 runs/s, and its values pass the same getters.)
#include "tests/fuzz/fuzz_target.h"
#include "train/config.h"

namespace {
template <class F>
void parse_or_error(const F& f) {
  try {
    f();
  } catch (const ptl::Error&) {
  }
}

void read_back(const ptl::Config& c) {
  static const ptl::Config defaults;
  for (const ptl::ConfigKey& k : ptl::config_keys()) {
    if (c.str(k.key) == defaults.str(k.key)) continue;
    parse_or_error([&] { c.integer(k.key); });
    parse_or_error([&] { c.number(k.key); });
    parse_or_error([&] { c.boolean(k.key); });
    parse_or_error([&] { c.int_list(k.key); });
    parse_or_error([&] { c.string_list(k.key); });
  }
}
}  // namespace

PTL_FUZZ_TARGET(config) {
  const size_t split = input.find('\0');
  const std::string main = input.substr(0, split);
  parse_or_error([&] { read_back(ptl::Config::from_yaml(main, "fuzz.yaml")); });
  ptl::fuzz::scratch_file("base.yaml", split == std::string::npos ? "" : input.substr(split + 1));
  read_back(ptl::Config::from_file(ptl::fuzz::scratch_file("main.yaml", main)));
}
