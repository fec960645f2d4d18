#include "engine/precision.h"

#include "base/error.h"

namespace ptl {

namespace {
thread_local Precision current = Precision::F32;
}  // namespace

const char* precision_name(Precision p) {
  return p == Precision::BF16 ? "bf16" : "float32";
}

Precision parse_precision(const std::string& name, const std::string& where) {
  if (name == "float32") return Precision::F32;
  if (name == "bf16") return Precision::BF16;
  fail(str(where, ": unknown precision '", name, "' (allowed: float32, bf16)"));
}

Precision current_precision() {
  return current;
}

PrecisionScope::PrecisionScope(Precision p) : outer_(current) {
  current = p;
}

PrecisionScope::~PrecisionScope() {
  current = outer_;
}

}  // namespace ptl
