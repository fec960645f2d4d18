// Query-gallery distance matrices for ReID evaluation, produced a tile of rows at a time so a
// (Q, G) matrix never has to exist in memory (MSMT17: 11,659 x 82,161 = 3.8 GB in float32).
//
// DistanceSource is what the metrics (reid_metrics.h) and re-ranking (rerank.h) consume.
// Implementations: DenseDistance (a matrix already in memory, e.g. a user's distmat),
// BlockDistance (the (Q+G, Q+G) matrix assembled from q-q, q-g and g-g blocks) and
// FeatureDistance (distances computed from features by tiled GEMMs).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/device.h"

namespace ptl {

enum class Metric { Euclidean, SqEuclidean, Cosine };
Metric parse_metric(const std::string& name);  // "euclidean" | "sqeuclidean" | "cosine"
const char* metric_name(Metric m);

class DistanceSource {
 public:
  DistanceSource(int64_t rows, int64_t cols) : rows_(rows), cols_(cols) {}
  virtual ~DistanceSource() = default;
  int64_t rows() const { return rows_; }
  int64_t cols() const { return cols_; }
  // Writes rows [r0, r1) as a row-major (r1 - r0, cols()) block into out.
  virtual void fill_rows(int64_t r0, int64_t r1, float* out) const = 0;
  // Row tiles aligned to this many rows avoid recomputation (FeatureDistance's GEMM block).
  virtual int64_t row_granularity() const { return 1; }

 private:
  int64_t rows_, cols_;
};

// A source that can also give single entries cheaply (what re-ranking needs for its weights).
class RandomAccessDistance : public DistanceSource {
 public:
  using DistanceSource::DistanceSource;
  virtual float at(int64_t r, int64_t c) const = 0;
};

// A row-major (rows, cols) matrix owned elsewhere.
class DenseDistance : public RandomAccessDistance {
 public:
  DenseDistance(const float* data, int64_t rows, int64_t cols)
      : RandomAccessDistance(rows, cols), data_(data) {}
  void fill_rows(int64_t r0, int64_t r1, float* out) const override;
  float at(int64_t r, int64_t c) const override { return data_[r * cols() + c]; }

 private:
  const float* data_;
};

// The (Q+G, Q+G) matrix M = [[qq, qg], [qg^T, gg]] from its blocks, without materialising it,
// TRANSPOSED: row r is column r of M. Re-ranking references scale M's columns and then work on
// rows of the transpose; for symmetric qq and gg (the usual case) this is M itself.
class BlockDistance : public RandomAccessDistance {
 public:
  BlockDistance(const float* qq, const float* qg, const float* gg, int64_t Q, int64_t G)
      : RandomAccessDistance(Q + G, Q + G), qq_(qq), qg_(qg), gg_(gg), Q_(Q), G_(G) {}
  void fill_rows(int64_t r0, int64_t r1, float* out) const override;
  float at(int64_t r, int64_t c) const override;

 private:
  const float *qq_, *qg_, *gg_;
  int64_t Q_, G_;
};

// Distances between the rows of `a` (R, D) and `b` (C, D), float32 row-major, owned elsewhere.
//   sqeuclidean: max(|a|^2 + |b|^2 - 2 a.b, 0)    (torchreid's and fast-reid's "euclidean")
//   euclidean:   sqrt of the above
//   cosine:      1 - a.b / (max(|a|, 1e-12) max(|b|, 1e-12))  (torchreid's cosine_distance)
// The dot products come from ptl's float32 GEMM (kernels/cpu/gemm.h) over blocks of rows; each
// is one fused multiply-add chain over D, so an entry's value depends only on the two feature
// rows: never on the tile asked for, the thread count, the instruction
// set, or which other rows are present.
// Norms and the epilogue are in double. With `device` CUDA, the GEMMs run on the GPU through
// ptl::matmul (cuBLAS) and only the (tile, C) products come back to the host.
class FeatureDistance : public RandomAccessDistance {
 public:
  static constexpr int64_t kBlockRows = 192;  // a-rows per GEMM call
  static constexpr int64_t kBlockCols = 768;  // b-rows per GEMM call

  FeatureDistance(const float* a, int64_t R, const float* b, int64_t C, int64_t D, Metric metric,
                  Device device = Device::cpu());
  ~FeatureDistance() override;
  void fill_rows(int64_t r0, int64_t r1, float* out) const override;
  int64_t row_granularity() const override { return kBlockRows; }
  // One entry with a double-precision dot product (agrees with fill_rows to float rounding).
  float at(int64_t r, int64_t c) const override;
  Metric metric() const { return metric_; }

 private:
  float finish(double dot, int64_t r, int64_t c) const;  // dot product -> distance
  void gemm_block(int64_t rb, int64_t cb, float* out) const;
  struct Device_;

  const float *a_, *b_;
  int64_t D_;
  Metric metric_;
  std::vector<double> an_, bn_;   // squared norms (euclidean) or inverse norms (cosine)
  std::unique_ptr<Device_> dev_;  // device copies when the GEMMs run on a GPU
};

}  // namespace ptl
