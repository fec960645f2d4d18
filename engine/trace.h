// Tracing a forward pass: while a TraceRecorder is active on this thread, every primitive op
// reports itself after it has run (its name, inputs, outputs and the attributes its result
// depends on), so that a graph exporter (export/onnx_export.h) can rebuild the computation
// without a second, hand-written copy of each model. Composite ops (linear, flatten, split,
// chunk, squeeze, ...) report nothing themselves: the primitives they call do. An op reports
// with `if (TraceRecorder* r = active_trace()) r->record({...});`, so inactive, a report costs
// one thread-local read and builds nothing.
#pragma once
#include <string>
#include <vector>

#include "engine/tensor.h"

namespace ptl {

// One attribute: integers (strides, paddings, dims) are stored exactly as doubles.
struct TraceAttr {
  const char* name;
  std::vector<double> values;
};

struct TracedOp {
  const char* op;              // the op's own name, as in its error messages ("conv2d")
  std::vector<Tensor> inputs;  // undefined where an optional input is missing (conv2d's bias)
  std::vector<Tensor> outputs;
  std::vector<TraceAttr> attrs;

  // The attribute `name` (the op's own; a missing one is a bug in the op's report).
  const std::vector<double>& attr(const char* name) const;
};

class TraceRecorder {
 public:
  virtual ~TraceRecorder() = default;
  virtual void record(TracedOp op) = 0;
};

// The recorder listening on this thread, or null.
TraceRecorder* active_trace();

// Makes `r` this thread's recorder for the scope's lifetime (the previous one comes back after).
class TraceScope {
 public:
  explicit TraceScope(TraceRecorder& r);
  ~TraceScope();
  TraceScope(const TraceScope&) = delete;
  TraceScope& operator=(const TraceScope&) = delete;

 private:
  TraceRecorder* prev_;
};

}  // namespace ptl
