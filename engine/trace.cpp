#include "engine/trace.h"

namespace ptl {

namespace {
thread_local TraceRecorder* t_recorder = nullptr;
}  // namespace

const std::vector<double>& TracedOp::attr(const char* name) const {
  for (const TraceAttr& a : attrs)
    if (std::string(a.name) == name) return a.values;
  fail(str("trace: op ", op, " reported no attribute ", name));
}

TraceRecorder* active_trace() {
  return t_recorder;
}

TraceScope::TraceScope(TraceRecorder& r) : prev_(t_recorder) {
  t_recorder = &r;
}

TraceScope::~TraceScope() {
  t_recorder = prev_;
}

}  // namespace ptl
