#include "layers/init.h"

#include <cmath>

#include "engine/autograd.h"
#include "engine/ops.h"

namespace ptl::init {

namespace {
int64_t receptive(const Tensor& w) {
  int64_t r = 1;
  for (int64_t d = 2; d < w.dim(); ++d) r *= w.size(d);
  return r;
}
// Fills a parameter in place through a detached alias (parameters are autograd leaves).
template <class F>
void fill(Tensor& t, F&& f) {
  Tensor tmp = Tensor::empty(t.shape(), t.dtype());
  f(tmp);
  NoGradGuard ng;
  Tensor dst = t.detach();
  copy_(dst, tmp);
}
}  // namespace

int64_t fan_in(const Tensor& w) {
  PTL_CHECK(w.dim() >= 2, "fan_in: needs a weight with at least 2 dimensions, got ", w.shape_str());
  return w.size(1) * receptive(w);
}
int64_t fan_out(const Tensor& w) {
  PTL_CHECK(w.dim() >= 2, "fan_out: needs a weight with at least 2 dimensions, got ",
            w.shape_str());
  return w.size(0) * receptive(w);
}

void uniform_(Tensor& t, double lo, double hi, Generator& g) {
  fill(t, [&](Tensor& x) { g.uniform_(x, lo, hi); });
}
void normal_(Tensor& t, double mean, double std, Generator& g) {
  fill(t, [&](Tensor& x) { g.normal_(x, mean, std); });
}
void constant_(Tensor& t, double v) {
  fill(t, [&](Tensor& x) { fill_(x, v); });
}

void kaiming_uniform_(Tensor& t, double a, bool use_fan_in, Generator& g) {
  const double fan = static_cast<double>(use_fan_in ? fan_in(t) : fan_out(t));
  const double bound = std::sqrt(2.0 / (1 + a * a)) * std::sqrt(3.0 / fan);
  uniform_(t, -bound, bound, g);
}

void kaiming_normal_(Tensor& t, bool use_fan_in, Generator& g) {
  const double fan = static_cast<double>(use_fan_in ? fan_in(t) : fan_out(t));
  normal_(t, 0.0, std::sqrt(2.0 / fan), g);
}

void torch_default_(Tensor& weight, Tensor bias, Generator& g) {
  kaiming_uniform_(weight, std::sqrt(5.0), true, g);
  if (bias.defined()) {
    const double b = 1.0 / std::sqrt(static_cast<double>(fan_in(weight)));
    uniform_(bias, -b, b, g);
  }
}

}  // namespace ptl::init
