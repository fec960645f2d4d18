// A minimal JSON reader for file headers (safetensors) and small config files: objects,
// arrays, strings (with escapes), numbers, true/false/null. Errors name what was being read.
#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace ptl {

struct Json {
  enum class Kind { Null, Bool, Number, String, Array, Object } kind = Kind::Null;
  bool boolean = false;
  double number = 0;
  std::string string;
  std::vector<Json> array;
  std::vector<std::pair<std::string, Json>> object;  // in file order

  const Json* find(const std::string& key) const;
  static Json parse(const std::string& text, const std::string& what);
};

// Escapes a string for inclusion in JSON output (with the quotes).
std::string json_quote(const std::string& s);

// `v` with 17 significant digits ("%.17g"): reads back (strtod, std::stod) to the same bits.
std::string exact_number(double v);

}  // namespace ptl
