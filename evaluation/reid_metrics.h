// ReID retrieval metrics under the torchreid / Market-1501 protocol (docs/evaluation.md): per
// query, the gallery in stable order of distance, entries with the query's person id AND camera
// removed, queries without a remaining match skipped.
// CMC(1..K), mAP (torchreid's non-interpolated AP), mINP (fast-reid's R / last-match position).
//
// The distances come from a DistanceSource a tile of queries at a time, so memory stays at
// one (tile, G) block plus the features, whatever the gallery size. Results do not depend on the
// tile size or on the thread count.
#pragma once
#include <cstdint>
#include <vector>

#include "evaluation/distance.h"

namespace ptl {

struct ReidIds {
  std::vector<int64_t> pids, camids;  // one per image
};

struct EvalOptions {
  int64_t max_rank = 50;           // CMC length; capped at the gallery size (as torchreid does)
  bool cuhk03_classic = false;     // CMC from one random gallery image per person id
  int cuhk03_draws = 10;           // averaged over this many draws
  uint64_t seed = 0;               // the draws are a pure function of (seed, draw, query, pid)
  int64_t tile_bytes = 256 << 20;  // distance rows held at once (rounded to the source's grain)
};

struct EvalResult {
  std::vector<double> cmc;   // cmc[k] = CMC(k + 1), a fraction in [0, 1]
  double mAP = 0, mINP = 0;  // fractions in [0, 1]
  int64_t num_query = 0, num_valid = 0, num_skipped = 0;
  std::vector<double> ap;  // per query; NaN for a skipped query
};

// dist: (Q, G) distances, query i against gallery j. Throws ptl::Error on an empty query set
// or gallery, ids whose lengths differ from the matrix, or a NaN distance.
EvalResult evaluate_reid(const DistanceSource& dist, const ReidIds& query, const ReidIds& gallery,
                         const EvalOptions& opt = {});

// The first k gallery indices of one query's ranking under the protocol (stable order of the
// row d (G), same-id-same-camera entries removed): what `ptl visrank` shows.
std::vector<int64_t> top_ranked(const float* d, int64_t G, int64_t pid, int64_t camid,
                                const ReidIds& gallery, int64_t k);
// The first k gallery indices of the row d (G) in the same order, with nothing removed: what
// `ptl search` shows for unlabelled images.
std::vector<int64_t> nearest(const float* d, int64_t G, int64_t k);

// The CUHK03 classic draw: index in [0, n) of the image kept for person `pid` in draw `draw` of
// query `query` (splitmix64 of the four values; written out in tests/reference/reid_eval_ref.py).
int64_t cuhk03_pick(uint64_t seed, int64_t draw, int64_t query, int64_t pid, int64_t n);

}  // namespace ptl
