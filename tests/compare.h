// The suite's one element-wise comparison: `got` against `want`, with a bound per element
//
//   |got - want| <= atol + rtol * |want| + scaled * max|want|
//
// where max|want| runs over the finite elements of `want`. `atol` is the tensor's floor (an
// absolute error every element may carry, e.g. for a tensor that cancels to about zero);
// `scaled` covers elements that are sums of many terms and cancel to nearly zero, whose rounding
// follows the tensor's largest values rather than their own. A NaN or infinite element passes
// only where both sides hold the same one (NaN and NaN, +inf and +inf): a NaN never hides in a
// max() or a `>` comparison. The report names how many elements fail and the worst one, with
// its index in the tensor's shape.
//
// mismatch_each(got, want, each) asks instead for |got - want| <= each[i], a bound of every
// element's own (e.g. from the magnitudes of the terms it sums).
//
// CHECK_WITHIN(got, want, bound) checks one pair; `got` and `want` are Tensors (any device,
// any dtype) or std::vectors of numbers. CHECK_SAME_BITS(got, want) asks for equal bytes.
#pragma once
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#include "engine/tensor.h"

namespace ptl::test {

// The bound of one comparison; all zero asks for equal values.
struct Bound {
  double rtol = 0;    // relative to the element's own |want|
  double atol = 0;    // the tensor's floor
  double scaled = 0;  // relative to the tensor's largest finite |want|
};

// The number of element comparisons made so far in this process (tests/main.cpp fails a
// cuda_logic run that made none).
inline size_t& compared_elements() {
  static size_t n = 0;
  return n;
}

namespace detail {

inline std::string index_str(size_t flat, const Shape& shape) {
  if (shape.empty()) return "[" + std::to_string(flat) + "]";
  std::vector<int64_t> idx(shape.size());
  for (size_t k = shape.size(); k-- > 0;) {
    idx[k] = static_cast<int64_t>(flat) % shape[k];
    flat /= static_cast<size_t>(shape[k]);
  }
  std::string s = "[";
  for (size_t k = 0; k < idx.size(); ++k) s += (k ? ", " : "") + std::to_string(idx[k]);
  return s + "]";
}

// "" when every element is within `b` (plus each[i] when `each` is given), else the count and
// the worst element (the largest excess over its bound; a non-finite mismatch counts as an
// infinite excess).
inline std::string mismatch(const std::vector<double>& g, const std::vector<double>& w, Bound b,
                            const Shape& shape, const std::vector<double>* each = nullptr) {
  if (g.size() != w.size() || (each && each->size() != w.size()))
    return "sizes differ: got " + std::to_string(g.size()) + " elements, want " +
           std::to_string(w.size()) + (each ? ", bounds " + std::to_string(each->size()) : "");
  compared_elements() += w.size();
  double scale = 0;
  for (double v : w)
    if (std::isfinite(v)) scale = std::max(scale, std::fabs(v));
  size_t bad = 0, worst = 0;
  double worst_excess = 0, worst_bound = 0;
  for (size_t i = 0; i < w.size(); ++i) {
    const double bound =
        b.atol + b.rtol * std::fabs(w[i]) + b.scaled * scale + (each ? (*each)[i] : 0.0);
    double excess;
    if (std::isfinite(g[i]) && std::isfinite(w[i]))
      excess = std::fabs(g[i] - w[i]) - bound;
    else  // both NaN, or the same infinity, agree; anything else fails
      excess = (std::isnan(g[i]) && std::isnan(w[i])) || g[i] == w[i] ? 0 : INFINITY;
    if (!(excess <= 0)) {
      if (bad++ == 0 || excess > worst_excess) {
        worst = i;
        worst_excess = excess;
        worst_bound = bound;
      }
    }
  }
  if (bad == 0) return "";
  std::ostringstream s;
  s.precision(10);
  s << bad << " of " << w.size() << " elements outside the bound (rtol " << b.rtol << ", atol "
    << b.atol << ", scaled " << b.scaled << " x " << scale << "); worst at "
    << index_str(worst, shape) << ": got " << g[worst] << ", want " << w[worst] << ", |diff| "
    << std::fabs(g[worst] - w[worst]) << " > " << worst_bound;
  return s.str();
}

}  // namespace detail

inline std::string mismatch(const Tensor& got, const Tensor& want, Bound b) {
  if (got.shape() != want.shape())
    return "shapes differ: got " + got.shape_str() + ", want " + want.shape_str();
  return detail::mismatch(got.to_double_vector(), want.to_double_vector(), b, want.shape());
}

inline std::string mismatch_each(const Tensor& got, const Tensor& want,
                                 const std::vector<double>& each) {
  if (got.shape() != want.shape())
    return "shapes differ: got " + got.shape_str() + ", want " + want.shape_str();
  return detail::mismatch(got.to_double_vector(), want.to_double_vector(), {}, want.shape(), &each);
}

template <class G, class W>
std::string mismatch(const std::vector<G>& got, const std::vector<W>& want, Bound b) {
  return detail::mismatch(std::vector<double>(got.begin(), got.end()),
                          std::vector<double>(want.begin(), want.end()), b,
                          {static_cast<int64_t>(want.size())});
}

// "" when the two hold the same bytes, else the first element that differs.
template <class T>
std::string bits_differ(const std::vector<T>& got, const std::vector<T>& want) {
  if (got.size() != want.size())
    return "sizes differ: got " + std::to_string(got.size()) + ", want " +
           std::to_string(want.size());
  compared_elements() += want.size();
  for (size_t i = 0; i < got.size(); ++i)
    if (std::memcmp(&got[i], &want[i], sizeof(T)) != 0) {
      std::ostringstream s;
      s.precision(17);
      s << "element " << i << " differs: got " << got[i] << ", want " << want[i];
      return s.str();
    }
  return "";
}

inline std::string bits_differ(const Tensor& got, const Tensor& want) {
  if (got.shape() != want.shape() || got.dtype() != want.dtype())
    return "got " + std::string(dtype_name(got.dtype())) + got.shape_str() + ", want " +
           dtype_name(want.dtype()) + want.shape_str();
  // Float64 holds every value of every dtype exactly, so equal bytes of the doubles mean equal
  // bytes of the tensors (NaN payloads aside, which no op here sets).
  return bits_differ(got.to_double_vector(), want.to_double_vector());
}

}  // namespace ptl::test

#define CHECK_WITHIN(got, want, bound)                                  \
  do {                                                                  \
    const std::string m_ = ::ptl::test::mismatch((got), (want), bound); \
    INFO(m_);                                                           \
    CHECK(m_.empty());                                                  \
  } while (0)
#define CHECK_SAME_BITS(got, want)                                  \
  do {                                                              \
    const std::string m_ = ::ptl::test::bits_differ((got), (want)); \
    INFO(m_);                                                       \
    CHECK(m_.empty());                                              \
  } while (0)
