#include "evaluation/reid_metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "base/error.h"
#include "base/parallel.h"

namespace ptl {

namespace {

uint64_t splitmix64(uint64_t z) {
  z += 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// Gallery entry j ranks before entry k under the stable sort by distance.
inline bool before(const float* d, int64_t j, int64_t k) {
  return d[j] < d[k] || (d[j] == d[k] && j < k);
}

// What one query contributes. first: 0-based rank of its first match among the kept entries
// (-1 when it has none, i.e. the query is skipped); for CUHK03, hits[k] counts the draws
// whose first match is at rank <= k.
struct QueryResult {
  int64_t first = -1;
  int64_t nan_at = -1;  // a gallery index whose distance is NaN (reported after the parallel loop)
  double ap = 0, inp = 0;
  std::vector<int32_t> hits;
};

// Camera -1 means "unknown" (list files without cameras): an unknown camera is never "the same
// camera", so same-id images of such data stay in the gallery as matches.
inline bool same_camera(int64_t a, int64_t b) {
  return a == b && a >= 0;
}

// std::lower_bound without data-dependent branches (n >= 1): the searches hit random entries.
inline int64_t lower_bound_branchless(const float* a, int64_t n, float x) {
  const float* base = a;
  while (n > 1) {
    const int64_t half = n / 2;
    base = base[half - 1] < x ? base + half : base;
    n -= half;
  }
  return (base - a) + (*base < x);
}

// Ranks of the matches without sorting the gallery: the kept entries ranked before match m
// are the m earlier matches plus the non-matches whose (distance, index) is below m's.
// O(G log R), a binary search over the matches' sorted distances per entry ranked before the last.
void rank_matches(const float* d, int64_t G, int64_t pid, int64_t cam, const ReidIds& g,
                  std::vector<int64_t>& matches, std::vector<int64_t>& pos) {
  matches.clear();
  for (int64_t j = 0; j < G; ++j)
    if (g.pids[j] == pid && !same_camera(g.camids[j], cam)) matches.push_back(j);
  const int64_t R = static_cast<int64_t>(matches.size());
  if (R == 0) return;
  std::sort(matches.begin(), matches.end(), [&](int64_t a, int64_t b) { return before(d, a, b); });
  std::vector<float> md(R);
  for (int64_t m = 0; m < R; ++m) md[m] = d[matches[m]];
  pos.assign(R + 1, 0);  // first pos[m]: non-matches ranked between match m-1 and match m
  const int64_t last = matches.back();
  for (int64_t j = 0; j < G; ++j) {
    if (g.pids[j] == pid || !before(d, j, last)) continue;  // a match, junk, or after all matches
    int64_t p = lower_bound_branchless(md.data(), R, d[j]);
    while (p < R && md[p] == d[j] && matches[p] < j) ++p;  // equal distances: gallery order
    ++pos[p];
  }
  int64_t acc = 0;
  for (int64_t m = 0; m < R; ++m) pos[m] = (acc += pos[m]) + m;
  pos.resize(R);
}

// CUHK03 classic: the kept gallery in rank order, one image per person id drawn at random.
void cuhk03_hits(const float* d, int64_t G, int64_t qi, int64_t pid, int64_t cam, const ReidIds& g,
                 const EvalOptions& opt, int64_t K, QueryResult& r) {
  const std::vector<int64_t> kept = top_ranked(d, G, pid, cam, g, G);
  // (pid, rank) pairs grouped by pid, ranks ascending within a group.
  std::vector<std::pair<int64_t, int64_t>> by_pid(kept.size());
  for (size_t i = 0; i < kept.size(); ++i) by_pid[i] = {g.pids[kept[i]], int64_t(i)};
  std::sort(by_pid.begin(), by_pid.end());
  r.hits.assign(K, 0);
  for (int draw = 0; draw < opt.cuhk03_draws; ++draw) {
    int64_t match_rank = -1;  // the query's person: its drawn image is the only match left
    std::vector<int64_t> drawn;
    for (size_t s = 0; s < by_pid.size();) {
      size_t e = s;
      while (e < by_pid.size() && by_pid[e].first == by_pid[s].first) ++e;
      const int64_t rank =
          by_pid[s + cuhk03_pick(opt.seed, draw, qi, by_pid[s].first, int64_t(e - s))].second;
      if (by_pid[s].first == pid) match_rank = rank;
      drawn.push_back(rank);
      s = e;
    }
    const int64_t first =
        std::count_if(drawn.begin(), drawn.end(), [&](int64_t x) { return x < match_rank; });
    for (int64_t k = first; k < K; ++k) ++r.hits[k];
  }
}

QueryResult evaluate_query(const float* d, int64_t G, int64_t qi, const ReidIds& q,
                           const ReidIds& g, const EvalOptions& opt, int64_t K) {
  QueryResult r;
  for (int64_t j = 0; j < G && r.nan_at < 0; ++j)
    if (std::isnan(d[j])) r.nan_at = j;
  if (r.nan_at >= 0) return r;
  std::vector<int64_t> matches, pos;
  rank_matches(d, G, q.pids[qi], q.camids[qi], g, matches, pos);
  const int64_t R = static_cast<int64_t>(matches.size());
  if (R == 0) return r;
  r.first = pos[0];
  for (int64_t m = 0; m < R; ++m) r.ap += double(m + 1) / double(pos[m] + 1);
  r.ap /= double(R);
  r.inp = double(R) / double(pos[R - 1] + 1);
  if (opt.cuhk03_classic) cuhk03_hits(d, G, qi, q.pids[qi], q.camids[qi], g, opt, K, r);
  return r;
}

void check_ids(const ReidIds& ids, int64_t n, const char* side, const char* dim) {
  PTL_CHECK(int64_t(ids.pids.size()) == n, "evaluate_reid: ", side, "_pids has ", ids.pids.size(),
            " entries but the distance matrix has ", n, " ", dim);
  PTL_CHECK(int64_t(ids.camids.size()) == n, "evaluate_reid: ", side, "_camids has ",
            ids.camids.size(), " entries but the distance matrix has ", n, " ", dim);
}

}  // namespace

namespace {
// The first k of `kept` (gallery indices) in ranking order.
std::vector<int64_t> first_ranked(const float* d, std::vector<int64_t> kept, int64_t k) {
  k = std::min<int64_t>(k, int64_t(kept.size()));
  std::partial_sort(kept.begin(), kept.begin() + k, kept.end(),
                    [&](int64_t a, int64_t b) { return before(d, a, b); });
  kept.resize(k);
  return kept;
}
}  // namespace

std::vector<int64_t> top_ranked(const float* d, int64_t G, int64_t pid, int64_t camid,
                                const ReidIds& gallery, int64_t k) {
  std::vector<int64_t> kept;
  for (int64_t j = 0; j < G; ++j)
    if (!(gallery.pids[j] == pid && same_camera(gallery.camids[j], camid))) kept.push_back(j);
  return first_ranked(d, std::move(kept), k);
}

std::vector<int64_t> nearest(const float* d, int64_t G, int64_t k) {
  std::vector<int64_t> all(static_cast<size_t>(G));
  for (int64_t j = 0; j < G; ++j) all[j] = j;
  return first_ranked(d, std::move(all), k);
}

int64_t cuhk03_pick(uint64_t seed, int64_t draw, int64_t query, int64_t pid, int64_t n) {
  uint64_t h = splitmix64(uint64_t(pid));
  h = splitmix64(h ^ uint64_t(query));
  h = splitmix64(h ^ uint64_t(draw));
  h = splitmix64(h ^ seed);
  return int64_t(h % uint64_t(n));
}

EvalResult evaluate_reid(const DistanceSource& dist, const ReidIds& query, const ReidIds& gallery,
                         const EvalOptions& opt) {
  const int64_t Q = dist.rows(), G = dist.cols();
  PTL_CHECK(Q > 0, "evaluate_reid: the query set is empty");
  PTL_CHECK(G > 0, "evaluate_reid: the gallery is empty");
  check_ids(query, Q, "query", "rows");
  check_ids(gallery, G, "gallery", "columns");
  PTL_CHECK(opt.max_rank > 0, "evaluate_reid: max_rank must be positive, got ", opt.max_rank);
  PTL_CHECK(!opt.cuhk03_classic || opt.cuhk03_draws > 0,
            "evaluate_reid: cuhk03_draws must be positive");
  const int64_t K = std::min(opt.max_rank, G);

  // Query tiles of a whole number of the source's row blocks, within opt.tile_bytes.
  const int64_t grain = dist.row_granularity();
  const int64_t tile =
      std::max<int64_t>(1, opt.tile_bytes / (G * int64_t(sizeof(float))) / grain) * grain;
  std::vector<float> rows(std::min(tile, Q) * G);
  std::vector<QueryResult> per_query(Q);
  for (int64_t q0 = 0; q0 < Q; q0 += tile) {
    const int64_t q1 = std::min(Q, q0 + tile);
    dist.fill_rows(q0, q1, rows.data());
    parallel_for(q1 - q0, 4, [&](int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; ++i)
        per_query[q0 + i] = evaluate_query(rows.data() + i * G, G, q0 + i, query, gallery, opt, K);
    });
    for (int64_t i = q0; i < q1; ++i)
      PTL_CHECK(per_query[i].nan_at < 0, "evaluate_reid: the distance of query ", i,
                " to gallery image ", per_query[i].nan_at, " is NaN");
  }

  // Reduce in query order; CMC from integer counts so it is exact.
  EvalResult res;
  res.num_query = Q;
  res.ap.assign(Q, std::numeric_limits<double>::quiet_NaN());
  std::vector<int64_t> count(K, 0);
  for (int64_t i = 0; i < Q; ++i) {
    const QueryResult& r = per_query[i];
    if (r.first < 0) continue;
    ++res.num_valid;
    res.ap[i] = r.ap;
    res.mAP += r.ap;
    res.mINP += r.inp;
    if (opt.cuhk03_classic)
      for (int64_t k = 0; k < K; ++k) count[k] += r.hits[k];
    else
      for (int64_t k = r.first; k < K; ++k) ++count[k];
  }
  res.num_skipped = Q - res.num_valid;
  PTL_CHECK(res.num_valid > 0, "evaluate_reid: none of the ", Q,
            " queries has a match in the gallery (same person id, different camera)");
  const double denom = double(res.num_valid) * (opt.cuhk03_classic ? opt.cuhk03_draws : 1);
  res.cmc.resize(K);
  for (int64_t k = 0; k < K; ++k) res.cmc[k] = double(count[k]) / denom;
  res.mAP /= double(res.num_valid);
  res.mINP /= double(res.num_valid);
  return res;
}

}  // namespace ptl
