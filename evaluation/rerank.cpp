#include "evaluation/rerank.h"

#include <algorithm>
#include <cmath>

#include "base/error.h"
#include "base/parallel.h"

namespace ptl {

namespace {

struct Entry {
  int32_t idx;  // column of V (an image), or a gallery row in the inverted index
  float val;
};
using SparseRow = std::vector<Entry>;  // sorted by idx

// np.around(k1 / 2.): round half to even.
int64_t half_k1(int k1) {
  return static_cast<int64_t>(std::nearbyint(k1 / 2.0));
}

// Rows of `all` in tiles of a whole number of its row blocks within tile_bytes.
template <class F>
void for_row_tiles(const RandomAccessDistance& all, int64_t r_end, int64_t tile_bytes,
                   const F& body) {
  const int64_t N = all.cols(), grain = all.row_granularity();
  const int64_t tile =
      std::max<int64_t>(1, tile_bytes / (N * int64_t(sizeof(float))) / grain) * grain;
  std::vector<float> rows(std::min(tile, r_end) * N);
  for (int64_t r0 = 0; r0 < r_end; r0 += tile) {
    const int64_t r1 = std::min(r_end, r0 + tile);
    all.fill_rows(r0, r1, rows.data());
    body(r0, r1, rows.data());
  }
}

// The first kk of row d (length N) in stable ascending order of d[j]^2 / rmax, as the
// reference's argsort of its scaled float32 matrix. Returns rmax (the row's max of d^2).
float nearest(const float* d, int64_t N, int64_t kk, int32_t* out) {
  float rmax = 0;
  for (int64_t j = 0; j < N; ++j) rmax = std::max(rmax, d[j] * d[j]);
  std::vector<std::pair<float, int32_t>> best;  // ascending; equal keys in index order
  best.reserve(kk + 1);
  for (int64_t j = 0; j < N; ++j) {
    const float u = d[j] * d[j] / rmax;
    if (int64_t(best.size()) == kk && !(u < best.back().first)) continue;
    auto at =
        std::upper_bound(best.begin(), best.end(), u,
                         [](float v, const std::pair<float, int32_t>& e) { return v < e.first; });
    best.insert(at, {u, int32_t(j)});
    if (int64_t(best.size()) > kk) best.pop_back();
  }
  for (int64_t t = 0; t < kk; ++t) out[t] = best[t].second;
  return rmax;
}

}  // namespace

struct RerankedDistance::Sparse {
  std::vector<SparseRow> query_v;  // (Q) expanded V rows of the queries
  std::vector<int64_t> col_start;  // (N + 1) inverted index of the gallery rows of V: for
  std::vector<Entry> col_entries;  //   each column, (gallery row, value) in row order
};

int64_t rerank_memory_bound(int64_t N, const RerankOptions& opt) {
  const int64_t h = half_k1(opt.k1);
  const int64_t E = std::min<int64_t>(N, int64_t(opt.k1 + 1) * (h + 2));
  const int64_t Eq = std::min<int64_t>(N, int64_t(std::max(opt.k2, 1)) * E);
  const int64_t row = sizeof(SparseRow), entry = sizeof(Entry);
  const int64_t lists = 4 * (std::max(opt.k1 + 1, opt.k2) + opt.k1 + 1 + h + 1) + 2 * row + 4;
  const int64_t phase1 = lists + (E + Eq) * entry + 2 * row;  // neighbours, V, expanded V
  const int64_t phase2 = 2 * Eq * entry + row + 8;            // expanded V, inverted index
  return N * std::max(phase1, phase2) + 2 * opt.tile_bytes;
}

RerankedDistance::RerankedDistance(const RandomAccessDistance& all, int64_t num_query,
                                   const RerankOptions& opt)
    : DistanceSource(num_query, all.cols() - num_query), all_(all), Q_(num_query), opt_(opt) {
  const int64_t N = all.rows();
  PTL_CHECK(all.cols() == N,
            "re-ranking: the distance matrix over queries and gallery must be square, got (",
            all.rows(), ", ", all.cols(), ")");
  PTL_CHECK(num_query > 0 && num_query < N,
            "re-ranking: needs at least one query and one gallery image, got ", num_query,
            " queries of ", N, " images");
  PTL_CHECK(N <= INT32_MAX, "re-ranking: ", N, " images is more than 2^31 - 1");
  PTL_CHECK(opt.k1 >= 1 && opt.k2 >= 1, "re-ranking: k1 and k2 must be >= 1, got k1=", opt.k1,
            " k2=", opt.k2);
  PTL_CHECK(opt.lambda >= 0 && opt.lambda <= 1, "re-ranking: lambda must be in [0, 1], got ",
            opt.lambda);
  const int64_t bound = rerank_memory_bound(N, opt);
  PTL_CHECK(bound <= opt.memory_limit, "re-ranking ", N, " images (k1=", opt.k1, ", k2=", opt.k2,
            ") may need up to ", bound / double(1 << 30),
            " GiB of working memory, above the limit of ", opt.memory_limit / double(1 << 30),
            " GiB (raise it with --rerank-memory-gb, or evaluate without "
            "--rerank)");

  // 1. One pass over the (N, N) rows: each row's max and its kk nearest neighbours.
  const int64_t kk = std::min<int64_t>(N, std::max(opt.k1 + 1, opt.k2));
  std::vector<int32_t> rank(N * kk);
  rowmax_.resize(N);
  for_row_tiles(all, N, opt.tile_bytes, [&](int64_t r0, int64_t r1, const float* rows) {
    const int64_t nan_count =
        std::count_if(rows, rows + (r1 - r0) * N, [](float v) { return std::isnan(v); });
    PTL_CHECK(nan_count == 0, "re-ranking: ", nan_count, " distances among rows ", r0, "..", r1 - 1,
              " are NaN");
    parallel_for(r1 - r0, 4, [&](int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; ++i)
        rowmax_[r0 + i] = nearest(rows + i * N, N, kk, rank.data() + (r0 + i) * kk);
    });
    for (int64_t i = r0; i < r1; ++i)
      PTL_CHECK(rowmax_[i] > 0, "re-ranking: image ", i,
                " is at distance 0 from every image (all features identical?)");
  });

  // 2. k-reciprocal neighbours R(i, k): the k + 1 nearest f of i that have i among their k + 1
  // nearest.
  auto reciprocal = [&](int64_t k) {
    const int64_t n = std::min<int64_t>(k + 1, kk);
    std::vector<std::vector<int32_t>> R(N);
    parallel_for(N, 256, [&](int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; ++i)
        for (int64_t t = 0; t < n; ++t) {
          const int32_t f = rank[i * kk + t];
          const int32_t* back = rank.data() + f * kk;
          if (std::find(back, back + n, int32_t(i)) != back + n) R[i].push_back(f);
        }
    });
    return R;
  };
  const std::vector<std::vector<int32_t>> R1 = reciprocal(opt.k1), Rh = reciprocal(half_k1(opt.k1));

  // 3. V: expand R(i, k1) by each candidate's R(c, k1/2) that shares more than 2/3 of itself
  //    with it; weights exp(-d^2 / rowmax), normalised to sum 1.
  std::vector<SparseRow> V(N);
  parallel_for(N, 64, [&](int64_t i0, int64_t i1) {
    std::vector<int32_t> sorted_r1, ex;
    for (int64_t i = i0; i < i1; ++i) {
      sorted_r1.assign(R1[i].begin(), R1[i].end());
      std::sort(sorted_r1.begin(), sorted_r1.end());
      ex = sorted_r1;
      for (int32_t c : R1[i]) {
        int64_t shared = 0;
        for (int32_t x : Rh[c]) shared += std::binary_search(sorted_r1.begin(), sorted_r1.end(), x);
        if (double(shared) > 2.0 / 3 * double(Rh[c].size()))
          ex.insert(ex.end(), Rh[c].begin(), Rh[c].end());
      }
      std::sort(ex.begin(), ex.end());
      ex.erase(std::unique(ex.begin(), ex.end()), ex.end());
      SparseRow& row = V[i];
      row.resize(ex.size());
      double sum = 0;
      for (size_t t = 0; t < ex.size(); ++t) {
        const float d = all.at(i, ex[t]);
        row[t] = {ex[t], std::exp(-(d * d / rowmax_[i]))};
        sum += row[t].val;
      }
      for (Entry& e : row) e.val = float(e.val / sum);
    }
  });

  // 4. Local query expansion: V(i) = mean of V over the k2 nearest of i (in rank order).
  if (opt.k2 > 1) {
    const int64_t k2 = std::min<int64_t>(opt.k2, kk);
    std::vector<SparseRow> Vqe(N);
    parallel_for(N, 64, [&](int64_t i0, int64_t i1) {
      SparseRow all_entries;
      for (int64_t i = i0; i < i1; ++i) {
        all_entries.clear();
        for (int64_t t = 0; t < k2; ++t) {
          const SparseRow& r = V[rank[i * kk + t]];
          all_entries.insert(all_entries.end(), r.begin(), r.end());
        }
        std::stable_sort(all_entries.begin(), all_entries.end(),
                         [](const Entry& a, const Entry& b) { return a.idx < b.idx; });
        SparseRow& out = Vqe[i];
        for (const Entry& e : all_entries) {
          if (!out.empty() && out.back().idx == e.idx)
            out.back().val += e.val;
          else
            out.push_back(e);
        }
        for (Entry& e : out) e.val /= float(k2);
        out.shrink_to_fit();
      }
    });
    V.swap(Vqe);
  }
  std::vector<int32_t>().swap(rank);

  // 5. Keep the query rows; index the gallery rows by column for the Jaccard sums.
  sparse_ = std::make_unique<Sparse>();
  sparse_->query_v.assign(std::make_move_iterator(V.begin()),
                          std::make_move_iterator(V.begin() + Q_));
  std::vector<int64_t>& start = sparse_->col_start;
  start.assign(N + 1, 0);
  for (int64_t j = Q_; j < N; ++j)
    for (const Entry& e : V[j]) ++start[e.idx + 1];
  for (int64_t c = 0; c < N; ++c) start[c + 1] += start[c];
  sparse_->col_entries.resize(start[N]);
  std::vector<int64_t> fill(start.begin(), start.end() - 1);
  for (int64_t j = Q_; j < N; ++j) {
    for (const Entry& e : V[j]) sparse_->col_entries[fill[e.idx]++] = {int32_t(j - Q_), e.val};
    SparseRow().swap(V[j]);
  }
}

RerankedDistance::~RerankedDistance() = default;

// Row i: Jaccard distance 1 - m / (2 - m), m = sum over columns of min(V(i), V(gallery j)),
// mixed with the scaled squared distance; float32 arithmetic in the reference's order.
void RerankedDistance::fill_rows(int64_t r0, int64_t r1, float* out) const {
  const int64_t N = all_.cols(), G = cols();
  std::vector<float> base((r1 - r0) * N);
  all_.fill_rows(r0, r1, base.data());
  const float wj = float(1 - opt_.lambda), wd = float(opt_.lambda);
  parallel_for(r1 - r0, 4, [&](int64_t i0, int64_t i1) {
    std::vector<float> m(G);
    for (int64_t i = i0; i < i1; ++i) {
      std::fill(m.begin(), m.end(), 0.0f);
      for (const Entry& e : sparse_->query_v[r0 + i])
        for (int64_t t = sparse_->col_start[e.idx]; t < sparse_->col_start[e.idx + 1]; ++t) {
          const Entry& g = sparse_->col_entries[t];
          m[g.idx] += std::min(e.val, g.val);
        }
      const float* d = base.data() + i * N + Q_;
      float* o = out + i * G;
      for (int64_t j = 0; j < G; ++j) {
        const float jaccard = 1.0f - m[j] / (2.0f - m[j]);
        o[j] = jaccard * wj + (d[j] * d[j] / rowmax_[r0 + i]) * wd;
      }
    }
  });
}

}  // namespace ptl
