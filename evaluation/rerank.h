// k-reciprocal re-ranking (Zhong et al., CVPR 2017) in bounded memory.
//
// Matches the numbers of ONE reference: `re_ranking(q_g_dist, q_q_dist, g_g_dist, k1, k2,
// lambda_value)` of zhunzhong07/person-re-ranking as shipped in torchreid
// (torchreid/utils/rerank.py; also fastreid/evaluation/rerank.py in fast-reid up to v1.0), with
// one deliberate difference: neighbours are ranked by a stable sort (equal distances keep index
// order) where the reference's np.argsort leaves ties in an unspecified order. How fast-reid's
// later `compute_jaccard_distance` differs is written down in docs/evaluation.md.
//
// The reference squares the distances, scales each row of the (N, N) matrix over [queries;
// gallery] (N = Q + G) by its maximum, keeps the k1 + 1 nearest of each row, builds the
// k-reciprocal sets with the 2/3 expansion rule, Gaussian weights V, averages V over the k2
// nearest rows, and mixes the Jaccard distance with the scaled distance:
//   final = (1 - lambda) * jaccard + lambda * d^2 / rowmax(d^2).
// The reference holds several dense (N, N) arrays (MSMT17: 35 GB each). Here only the k
// nearest neighbours of each row and V as sparse rows are kept; the (N, N) distances are
// streamed once in row tiles, and the re-ranked (Q, G) rows are produced on demand for the
// evaluation. Memory is at most rerank_memory_bound() bytes besides the input.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "evaluation/distance.h"

namespace ptl {

struct RerankOptions {
  int k1 = 20, k2 = 6;
  double lambda = 0.3;
  int64_t memory_limit = int64_t(4) << 30;  // refuse when rerank_memory_bound() exceeds this
  int64_t tile_bytes = 128 << 20;           // distance rows held at once
};

// Worst-case working memory of re-ranking N images (the input distance source not included).
// A V row has at most E = min(N, (k1 + 1) (round(k1 / 2) + 2)) entries, Eq = min(N, k2 E) after
// query expansion, 8 bytes each; the peak is the larger of (neighbour lists + V + expanded V)
// and (expanded V + its inverted index), about N * 16 * Eq bytes, plus two row tiles.
// MSMT17 (N = 93,820, k1 = 20, k2 = 6): 2.6 GB.
int64_t rerank_memory_bound(int64_t N, const RerankOptions& opt);

// Re-ranked (Q, G) query-gallery distances.
class RerankedDistance : public DistanceSource {
 public:
  // all: the (N, N) distances among [queries; gallery], N = num_query + G, where row i holds
  // what the reference calls column i (the same for a symmetric matrix); it must outlive this.
  // Throws when the memory bound is above opt.memory_limit, naming both.
  RerankedDistance(const RandomAccessDistance& all, int64_t num_query,
                   const RerankOptions& opt = {});
  ~RerankedDistance() override;
  void fill_rows(int64_t r0, int64_t r1, float* out) const override;
  int64_t row_granularity() const override { return all_.row_granularity(); }

 private:
  struct Sparse;
  const RandomAccessDistance& all_;
  int64_t Q_;
  RerankOptions opt_;
  std::vector<float> rowmax_;       // (N) max of each squared-distance row
  std::unique_ptr<Sparse> sparse_;  // V rows of the queries and the gallery's inverted index
};

}  // namespace ptl
