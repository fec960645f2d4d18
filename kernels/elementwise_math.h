// Element-wise formulas shared by the CPU and CUDA backends (host-device functions), so the
// CPU tests exercise the same math the GPU kernels run.
#pragma once
#include <cmath>

#if defined(__CUDACC__)
#define PTL_HD __host__ __device__ __forceinline__
#else
#define PTL_HD inline
#endif

// Brings the float/double overloads of <cmath> into scope on the host (CUDA provides its own).
#if defined(__CUDACC__)
#define PTL_USING_STD_MATH
#else
#define PTL_USING_STD_MATH \
  using std::exp;          \
  using std::log;          \
  using std::tanh;         \
  using std::sqrt;         \
  using std::pow
#endif

namespace ptl {

enum class UnaryOp {
  Neg,
  Relu,
  Sigmoid,
  Tanh,
  Exp,
  Log,
  Sqrt,
  Abs,
  Pow,
  Clamp,
  AddScalar,
  MulScalar
};
enum class BinaryOp { Add, Sub, Mul, Div };

// Parameters of the scalar-taking unary ops (Pow: a = exponent; Clamp: [a, b]; AddScalar and
// MulScalar: a).
struct UnaryParams {
  double a = 0, b = 0;
};

template <class T>
PTL_HD T unary_forward(UnaryOp op, T x, const UnaryParams& p) {
  PTL_USING_STD_MATH;
  switch (op) {
    case UnaryOp::Neg:
      return -x;
    case UnaryOp::Relu:
      return x <= T(0) ? T(0) : x;  // NaN propagates, as torch
    case UnaryOp::Sigmoid:
      return T(1) / (T(1) + exp(-x));
    case UnaryOp::Tanh:
      return tanh(x);
    case UnaryOp::Exp:
      return exp(x);
    case UnaryOp::Log:
      return log(x);
    case UnaryOp::Sqrt:
      return sqrt(x);
    case UnaryOp::Abs:
      return x < T(0) ? -x : x;
    case UnaryOp::Pow:
      return pow(x, T(p.a));
    case UnaryOp::Clamp:
      return x < T(p.a) ? T(p.a) : (x > T(p.b) ? T(p.b) : x);
    case UnaryOp::AddScalar:
      return x + T(p.a);
    case UnaryOp::MulScalar:
      return x * T(p.a);
  }
  return x;
}

// d(loss)/dx given the output gradient g, the input x and the output y.
template <class T>
PTL_HD T unary_backward(UnaryOp op, T g, T x, T y, const UnaryParams& p) {
  PTL_USING_STD_MATH;
  switch (op) {
    case UnaryOp::Neg:
      return -g;
    case UnaryOp::Relu:
      return x > T(0) ? g : T(0);
    case UnaryOp::Sigmoid:
      return g * y * (T(1) - y);
    case UnaryOp::Tanh:
      return g * (T(1) - y * y);
    case UnaryOp::Exp:
      return g * y;
    case UnaryOp::Log:
      return g / x;
    case UnaryOp::Sqrt:
      return g / (T(2) * y);
    case UnaryOp::Abs:
      return x > T(0) ? g : (x < T(0) ? -g : T(0));
    case UnaryOp::Pow:
      return g * T(p.a) * pow(x, T(p.a - 1));
    case UnaryOp::Clamp:
      return (x >= T(p.a) && x <= T(p.b)) ? g : T(0);  // bounds included, as torch
    case UnaryOp::AddScalar:
      return g;
    case UnaryOp::MulScalar:
      return g * T(p.a);
  }
  return g;
}

template <class T>
PTL_HD T binary_forward(BinaryOp op, T a, T b) {
  switch (op) {
    case BinaryOp::Add:
      return a + b;
    case BinaryOp::Sub:
      return a - b;
    case BinaryOp::Mul:
      return a * b;
    case BinaryOp::Div:
      return a / b;
  }
  return a;
}

}  // namespace ptl
