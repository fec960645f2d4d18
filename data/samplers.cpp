#include "data/samplers.h"

#include <algorithm>
#include <map>

#include "base/error.h"

namespace ptl::data {

BatchPlan pk_batches(const std::vector<int64_t>& labels, int p, int k, Generator& rng) {
  PTL_CHECK(p > 0 && k > 0, "PK sampler: P and K must be positive, got P=", p, " K=", k);
  std::map<int64_t, std::vector<int64_t>> by_id;  // sorted ids
  for (size_t i = 0; i < labels.size(); ++i) by_id[labels[i]].push_back(static_cast<int64_t>(i));

  // Per identity: its chunks of K, consumed front to back.
  std::vector<std::vector<std::vector<int64_t>>> chunks;
  for (auto& [id, idx] : by_id) {
    std::vector<int64_t> pool;
    if (static_cast<int>(idx.size()) < k) {
      for (int j = 0; j < k; ++j)
        pool.push_back(idx[rng.randint(static_cast<int64_t>(idx.size()))]);
    } else {
      pool = idx;
    }
    const auto perm = rng.permutation(static_cast<int64_t>(pool.size()));
    std::vector<std::vector<int64_t>> mine;
    for (size_t j = 0; j + k <= perm.size(); j += k) {
      std::vector<int64_t> chunk;
      for (int t = 0; t < k; ++t) chunk.push_back(pool[perm[j + t]]);
      mine.push_back(std::move(chunk));
    }
    chunks.push_back(std::move(mine));
  }

  std::vector<size_t> avail(chunks.size()), next(chunks.size(), 0);
  for (size_t i = 0; i < avail.size(); ++i) avail[i] = i;
  BatchPlan plan;
  while (static_cast<int>(avail.size()) >= p) {
    // P distinct identities: a partial Fisher-Yates over the available list.
    for (int j = 0; j < p; ++j)
      std::swap(avail[j], avail[j + rng.randint(static_cast<int64_t>(avail.size()) - j)]);
    std::vector<int64_t> batch;
    std::vector<size_t> done;
    for (int j = 0; j < p; ++j) {
      const size_t id = avail[j];
      const auto& chunk = chunks[id][next[id]++];
      batch.insert(batch.end(), chunk.begin(), chunk.end());
      if (next[id] == chunks[id].size()) done.push_back(id);
    }
    for (size_t id : done) avail.erase(std::find(avail.begin(), avail.end(), id));
    plan.push_back(std::move(batch));
  }
  return plan;
}

BatchPlan pk_release_batches(const std::vector<int64_t>& labels, int p, int k, Generator& rng) {
  PTL_CHECK(p > 0 && k > 0, "PK sampler: P and K must be positive, got P=", p, " K=", k);
  std::map<int64_t, std::vector<int64_t>> by_id;  // sorted ids
  for (size_t i = 0; i < labels.size(); ++i) by_id[labels[i]].push_back(static_cast<int64_t>(i));
  std::vector<const std::vector<int64_t>*> ids;
  for (const auto& [id, idx] : by_id) ids.push_back(&idx);
  const auto order = rng.permutation(static_cast<int64_t>(ids.size()));
  BatchPlan plan;
  // Whole batches only: the release's DataLoader has drop_last=True.
  for (size_t b = 0; b + static_cast<size_t>(p) <= order.size(); b += static_cast<size_t>(p)) {
    std::vector<int64_t> batch;
    for (size_t j = b; j < b + static_cast<size_t>(p); ++j) {
      std::vector<int64_t> pool;
      const std::vector<int64_t>& idx = *ids[static_cast<size_t>(order[j])];
      for (size_t r = 0; r < (idx.size() < static_cast<size_t>(k) ? static_cast<size_t>(k) : 1);
           ++r)
        pool.insert(pool.end(), idx.begin(), idx.end());
      const auto perm = rng.permutation(static_cast<int64_t>(pool.size()));
      for (int t = 0; t < k; ++t) batch.push_back(pool[static_cast<size_t>(perm[t])]);
    }
    plan.push_back(std::move(batch));
  }
  return plan;
}

BatchPlan shuffled_batches(int64_t n, int64_t batch, bool drop_last, Generator& rng) {
  PTL_CHECK(batch > 0, "batch size must be positive, got ", batch);
  const auto perm = rng.permutation(n);
  BatchPlan plan;
  for (int64_t b = 0; b < n; b += batch) {
    if (drop_last && b + batch > n) break;
    plan.emplace_back(perm.begin() + b, perm.begin() + std::min(n, b + batch));
  }
  return plan;
}

BatchPlan sequential_batches(int64_t n, int64_t batch, bool drop_last) {
  PTL_CHECK(batch > 0, "batch size must be positive, got ", batch);
  BatchPlan plan;
  for (int64_t b = 0; b < n; b += batch) {
    if (drop_last && b + batch > n) break;
    std::vector<int64_t> idx;
    for (int64_t i = b; i < std::min(n, b + batch); ++i) idx.push_back(i);
    plan.push_back(std::move(idx));
  }
  return plan;
}

BatchPlan shard_batches(const BatchPlan& plan, int64_t group, int rank, int world,
                        std::vector<int64_t>& positions) {
  PTL_CHECK(world >= 1 && rank >= 0 && rank < world && group >= 1, "shard_batches: rank ", rank,
            " of ", world, ", groups of ", group);
  BatchPlan mine;
  positions.clear();
  for (size_t b = 0; b < plan.size(); ++b) {
    const int64_t n = static_cast<int64_t>(plan[b].size()), groups = n / group;
    PTL_CHECK(n % group == 0, "batch ", b, " has ", n, " samples, not whole groups of ", group);
    const int64_t first = rank * groups / world, last = (rank + 1) * groups / world;
    PTL_CHECK(last > first, "batch ", b, " has ", groups, group > 1 ? " identities" : " samples",
              ", too few for ", world, " ranks to hold one each");
    positions.push_back(first * group);
    mine.emplace_back(plan[b].begin() + first * group, plan[b].begin() + last * group);
  }
  return mine;
}

}  // namespace ptl::data
