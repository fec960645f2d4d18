// The JSON reader (safetensors headers, CUHK03 split files). Strings that parse must survive
// json_quote and a second parse unchanged: the safetensors writer relies on that.
#include "engine/json.h"
#include "tests/fuzz/fuzz_target.h"

namespace {
void check_quote(const std::string& s) {
  ptl::fuzz::expect(ptl::Json::parse(ptl::json_quote(s), "quoted").string == s,
                    "json_quote round trip");
}

void check_strings(const ptl::Json& j) {
  if (j.kind == ptl::Json::Kind::String) check_quote(j.string);
  for (const auto& v : j.array) check_strings(v);
  for (const auto& [k, v] : j.object) {
    check_quote(k);
    check_strings(v);
  }
}
}  // namespace

PTL_FUZZ_TARGET(json) {
  check_strings(ptl::Json::parse(input, "fuzz.json"));
}
