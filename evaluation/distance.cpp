#include "evaluation/distance.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "base/error.h"
#include "base/parallel.h"
#include "engine/ops.h"
#include "engine/tensor.h"
#include "kernels/cpu/gemm.h"

namespace ptl {

Metric parse_metric(const std::string& name) {
  if (name == "euclidean") return Metric::Euclidean;
  if (name == "sqeuclidean") return Metric::SqEuclidean;
  if (name == "cosine") return Metric::Cosine;
  fail(str("unknown metric '", name, "' (expected euclidean, sqeuclidean or cosine)"));
}

const char* metric_name(Metric m) {
  switch (m) {
    case Metric::Euclidean:
      return "euclidean";
    case Metric::SqEuclidean:
      return "sqeuclidean";
    case Metric::Cosine:
      return "cosine";
  }
  return "?";
}

void DenseDistance::fill_rows(int64_t r0, int64_t r1, float* out) const {
  std::memcpy(out, data_ + r0 * cols(), sizeof(float) * (r1 - r0) * cols());
}

void BlockDistance::fill_rows(int64_t r0, int64_t r1, float* out) const {
  for (int64_t r = r0; r < r1; ++r, out += cols())
    for (int64_t c = 0; c < cols(); ++c) out[c] = at(r, c);
}

float BlockDistance::at(int64_t r, int64_t c) const {  // M[c][r]
  if (c < Q_) return r < Q_ ? qq_[c * Q_ + r] : qg_[c * G_ + (r - Q_)];
  return r < Q_ ? qg_[r * G_ + (c - Q_)] : gg_[(c - Q_) * G_ + (r - Q_)];
}

// ---- FeatureDistance ----

namespace {
// Squared norms (euclidean) or inverse norms clamped like F.normalize (cosine), in double.
std::vector<double> row_norms(const float* x, int64_t n, int64_t D, Metric m) {
  std::vector<double> out(n);
  parallel_for(n, 256, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      double s = 0;
      for (int64_t k = 0; k < D; ++k) s += double(x[i * D + k]) * x[i * D + k];
      out[i] = m == Metric::Cosine ? 1.0 / std::max(std::sqrt(s), 1e-12) : s;
    }
  });
  return out;
}

}  // namespace

struct FeatureDistance::Device_ {
  Tensor a, bt;  // (R, D) and (D, C) on the GPU
};

FeatureDistance::FeatureDistance(const float* a, int64_t R, const float* b, int64_t C, int64_t D,
                                 Metric metric, Device device)
    : RandomAccessDistance(R, C), a_(a), b_(b), D_(D), metric_(metric) {
  PTL_CHECK(R >= 0 && C >= 0 && D > 0, "FeatureDistance: bad sizes R=", R, " C=", C, " D=", D);
  an_ = row_norms(a, R, D, metric);
  bn_ = row_norms(b, C, D, metric);
  if (device.is_cuda()) {
    auto upload = [&](const float* p, int64_t n) {
      Tensor t = Tensor::empty({n, D});
      std::memcpy(t.data<float>(), p, sizeof(float) * n * D);
      return t.to(device);
    };
    dev_ = std::make_unique<Device_>();
    dev_->a = upload(a, R);
    dev_->bt = transpose(upload(b, C), 0, 1).contiguous();
  }
}

FeatureDistance::~FeatureDistance() = default;

float FeatureDistance::finish(double dot, int64_t r, int64_t c) const {
  if (metric_ == Metric::Cosine) return float(1.0 - dot * an_[r] * bn_[c]);
  const double d2 = std::max(an_[r] + bn_[c] - 2.0 * dot, 0.0);
  return float(metric_ == Metric::Euclidean ? std::sqrt(d2) : d2);
}

// out (rows, cols), rows kBlockCols apart = a-block rb times b-block cb transposed (the last
// blocks may be short). Each entry is one chain over D (kernels/cpu/gemm.h), so its bits do not
// depend on the block it falls in.
void FeatureDistance::gemm_block(int64_t rb, int64_t cb, float* out) const {
  const int64_t r0 = rb * kBlockRows, c0 = cb * kBlockCols;
  const int64_t rows = std::min(kBlockRows, this->rows() - r0),
                cols = std::min(kBlockCols, this->cols() - c0);
  cpu::gemm_serial<float>(false, true, rows, cols, D_, 1, a_ + r0 * D_, D_, b_ + c0 * D_, D_, 0,
                          out, kBlockCols);
}

void FeatureDistance::fill_rows(int64_t r0, int64_t r1, float* out) const {
  const int64_t C = cols();
  if (dev_) {  // GPU GEMM for the tile, epilogue here
    Tensor prod = matmul(narrow(dev_->a, 0, r0, r1 - r0), dev_->bt).to(Device::cpu());
    const float* p = prod.data<float>();
    parallel_for(r1 - r0, 8, [&](int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; ++i)
        for (int64_t c = 0; c < C; ++c) out[i * C + c] = finish(p[i * C + c], r0 + i, c);
    });
    return;
  }
  // Tasks: (row block, column block) pairs covering [r0, r1) x [0, C).
  const int64_t rb0 = r0 / kBlockRows, rb1 = (r1 + kBlockRows - 1) / kBlockRows;
  const int64_t ncb = (C + kBlockCols - 1) / kBlockCols;
  parallel_for((rb1 - rb0) * ncb, 1, [&](int64_t t0, int64_t t1) {
    std::vector<float> blk(kBlockRows * kBlockCols);
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t rb = rb0 + t / ncb, cb = t % ncb;
      gemm_block(rb, cb, blk.data());
      const int64_t lo = std::max(r0, rb * kBlockRows), hi = std::min(r1, (rb + 1) * kBlockRows);
      const int64_t c0 = cb * kBlockCols, c1 = std::min(C, c0 + kBlockCols);
      for (int64_t r = lo; r < hi; ++r) {
        const float* src = blk.data() + (r - rb * kBlockRows) * kBlockCols;
        float* dst = out + (r - r0) * C;
        for (int64_t c = c0; c < c1; ++c) dst[c] = finish(src[c - c0], r, c);
      }
    }
  });
}

float FeatureDistance::at(int64_t r, int64_t c) const {
  const float *x = a_ + r * D_, *y = b_ + c * D_;
  double dot = 0;
  for (int64_t k = 0; k < D_; ++k) dot += double(x[k]) * y[k];
  return finish(dot, r, c);
}

}  // namespace ptl
