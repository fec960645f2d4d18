// Element-wise ops with numpy broadcasting, and their gradients.
#include "engine/ops/op_utils.h"

namespace ptl {

using ops_detail::check_float;
using ops_detail::check_same_dtype;

Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
  const size_t n = std::max(a.size(), b.size());
  Shape out(n);
  for (size_t i = 0; i < n; ++i) {
    int64_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
    int64_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
    PTL_CHECK(da == db || da == 1 || db == 1, op, ": shapes ", shape_str(a), " and ", shape_str(b),
              " cannot be broadcast together");
    out[i] = da == 1 ? db : da;
  }
  return out;
}

Tensor sum_to(const Tensor& g, const Shape& shape) {
  if (g.shape() == shape) return g;
  const size_t lead = g.shape().size() - shape.size();
  std::vector<int64_t> dims;
  for (size_t i = 0; i < g.shape().size(); ++i)
    if (i < lead || (shape[i - lead] == 1 && g.shape()[i] != 1))
      dims.push_back(static_cast<int64_t>(i));
  return reshape(sum(g, dims, true), shape);
}

namespace {
// Strides of `t` (contiguous) expressed in the dimensions of `out_shape`, 0 where broadcast.
Shape broadcast_strides(const Tensor& t, const Shape& out_shape) {
  Shape s(out_shape.size(), 0);
  const size_t lead = out_shape.size() - t.shape().size();
  for (size_t i = 0; i < t.shape().size(); ++i)
    s[lead + i] = t.shape()[i] == 1 ? 0 : t.strides()[i];
  return s;
}

Tensor binary(BinaryOp op, const char* name, const Tensor& a0, const Tensor& b0) {
  check_float(name, a0, "first operand");
  check_float(name, b0, "second operand");
  check_same_dtype(name, a0, b0);
  Shape shape = broadcast_shapes(a0.shape(), b0.shape(), name);
  Tensor a = a0.contiguous(), b = b0.contiguous();
  Tensor out = Tensor::empty(shape, a.dtype(), a.device());
  PTL_DISPATCH_FLOAT(a.dtype(), name, [&] {
    PTL_KERNEL(a.device(), binary_forward<scalar_t>)
    (op, shape, a.data<scalar_t>(), broadcast_strides(a, shape), b.data<scalar_t>(),
     broadcast_strides(b, shape), out.data<scalar_t>());
  });
  if (TraceRecorder* r = active_trace()) r->record({name, {a0, b0}, {out}, {}});
  Tensor ad = a0.detach(), bd = b0.detach();
  return record(out, name, {a0, b0},
                [op, ad, bd](const Tensor& g, const std::vector<bool>& need) -> Grads {
                  Grads r(2);
                  switch (op) {
                    case BinaryOp::Add:
                      if (need[0]) r[0] = sum_to(g, ad.shape());
                      if (need[1]) r[1] = sum_to(g, bd.shape());
                      break;
                    case BinaryOp::Sub:
                      if (need[0]) r[0] = sum_to(g, ad.shape());
                      if (need[1]) r[1] = sum_to(neg(g), bd.shape());
                      break;
                    case BinaryOp::Mul:
                      if (need[0]) r[0] = sum_to(mul(g, bd), ad.shape());
                      if (need[1]) r[1] = sum_to(mul(g, ad), bd.shape());
                      break;
                    case BinaryOp::Div:
                      if (need[0]) r[0] = sum_to(div(g, bd), ad.shape());
                      if (need[1]) r[1] = sum_to(neg(div(mul(g, ad), mul(bd, bd))), bd.shape());
                      break;
                  }
                  return r;
                });
}

Tensor unary(UnaryOp op, const char* name, const Tensor& x0, UnaryParams p = {}) {
  check_float(name, x0, "input");
  Tensor x = x0.contiguous();
  Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
  PTL_DISPATCH_FLOAT(x.dtype(), name, [&] {
    PTL_KERNEL(x.device(), unary_forward<scalar_t>)
    (op, p, x.data<scalar_t>(), y.data<scalar_t>(), x.numel());
  });
  if (TraceRecorder* r = active_trace()) r->record({name, {x0}, {y}, {{"params", {p.a, p.b}}}});
  if (!needs_grad({x0})) return y;
  // Save only what the derivative reads (see unary_backward): relu's x>0 test equals y>0, so
  // output-based ops keep y alone and input-based ops keep x alone.
  const bool output_based = op == UnaryOp::Relu || op == UnaryOp::Sigmoid || op == UnaryOp::Tanh ||
                            op == UnaryOp::Exp || op == UnaryOp::Sqrt;
  const bool input_based =
      op == UnaryOp::Log || op == UnaryOp::Abs || op == UnaryOp::Pow || op == UnaryOp::Clamp;
  Tensor saved = output_based ? y.detach() : (input_based ? x.detach() : Tensor());
  return record(y, name, {x0},
                [op, p, saved, name](const Tensor& g0, const std::vector<bool>&) -> Grads {
                  Tensor g = g0.contiguous();
                  Tensor gx = Tensor::empty(g.shape(), g.dtype(), g.device());
                  const Tensor& s = saved.defined() ? saved : g;  // unused by ops that need neither
                  PTL_DISPATCH_FLOAT(g.dtype(), name, [&] {
                    PTL_KERNEL(g.device(), unary_backward<scalar_t>)
                    (op, p, g.data<scalar_t>(), s.data<scalar_t>(), s.data<scalar_t>(),
                     gx.data<scalar_t>(), g.numel());
                  });
                  return {gx};
                });
}
}  // namespace

Tensor add(const Tensor& a, const Tensor& b) {
  return binary(BinaryOp::Add, "add", a, b);
}
Tensor sub(const Tensor& a, const Tensor& b) {
  return binary(BinaryOp::Sub, "sub", a, b);
}
Tensor mul(const Tensor& a, const Tensor& b) {
  return binary(BinaryOp::Mul, "mul", a, b);
}
Tensor div(const Tensor& a, const Tensor& b) {
  return binary(BinaryOp::Div, "div", a, b);
}
Tensor add(const Tensor& a, double s) {
  return unary(UnaryOp::AddScalar, "add_scalar", a, {s, 0});
}
Tensor mul(const Tensor& a, double s) {
  return unary(UnaryOp::MulScalar, "mul_scalar", a, {s, 0});
}
Tensor neg(const Tensor& a) {
  return unary(UnaryOp::Neg, "neg", a);
}
Tensor pow(const Tensor& a, double e) {
  return unary(UnaryOp::Pow, "pow", a, {e, 0});
}
Tensor relu(const Tensor& a) {
  return unary(UnaryOp::Relu, "relu", a);
}
Tensor sigmoid(const Tensor& a) {
  return unary(UnaryOp::Sigmoid, "sigmoid", a);
}
Tensor tanh(const Tensor& a) {
  return unary(UnaryOp::Tanh, "tanh", a);
}
Tensor exp(const Tensor& a) {
  return unary(UnaryOp::Exp, "exp", a);
}
Tensor log(const Tensor& a) {
  return unary(UnaryOp::Log, "log", a);
}
Tensor sqrt(const Tensor& a) {
  return unary(UnaryOp::Sqrt, "sqrt", a);
}
Tensor abs(const Tensor& a) {
  return unary(UnaryOp::Abs, "abs", a);
}
Tensor clamp(const Tensor& a, double lo, double hi) {
  PTL_CHECK(lo <= hi, "clamp: lower bound ", lo, " exceeds upper bound ", hi);
  return unary(UnaryOp::Clamp, "clamp", a, {lo, hi});
}

Tensor add_relu(const Tensor& a0, const Tensor& b0) {
  check_float("add_relu", a0, "first operand");
  check_float("add_relu", b0, "second operand");
  check_same_dtype("add_relu", a0, b0);
  if (a0.shape() != b0.shape()) return relu(add(a0, b0));  // broadcasting: the two ops
  Tensor a = a0.contiguous(), b = b0.contiguous();
  Tensor y = Tensor::empty(a.shape(), a.dtype(), a.device());
  PTL_DISPATCH_FLOAT(a.dtype(), "add_relu", [&] {
    PTL_KERNEL(a.device(), add_relu_forward<scalar_t>)
    (a.data<scalar_t>(), b.data<scalar_t>(), y.data<scalar_t>(), a.numel());
  });
  if (TraceRecorder* r = active_trace()) r->record({"add_relu", {a0, b0}, {y}, {}});
  if (!needs_grad({a0, b0})) return y;
  Tensor yd = y.detach();
  return record(y, "add_relu", {a0, b0}, [yd](const Tensor& g0, const std::vector<bool>&) -> Grads {
    Tensor g = g0.contiguous();
    Tensor gx = Tensor::empty(g.shape(), g.dtype(), g.device());
    PTL_DISPATCH_FLOAT(g.dtype(), "add_relu", [&] {
      PTL_KERNEL(g.device(), unary_backward<scalar_t>)
      (UnaryOp::Relu, {}, g.data<scalar_t>(), yd.data<scalar_t>(), yd.data<scalar_t>(),
       gx.data<scalar_t>(), g.numel());
    });
    return {gx, gx};  // as add's backward, both inputs get the same gradient tensor
  });
}

}  // namespace ptl
