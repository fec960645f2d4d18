// Samplers: torchreid's PK rule (docs/data.md), shuffled and sequential batches with drop-last.
#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <set>

#include "data/samplers.h"

using namespace ptl::data;

TEST_CASE("PK batches: P distinct ids x K images each, chunks used once", "[data]") {
  // 10 ids with 1..12 images each.
  std::vector<int64_t> labels;
  for (int id = 0; id < 10; ++id)
    for (int j = 0; j <= id + 1 && j < 12; ++j) labels.push_back(id * 7);  // ids need not be 0..K-1
  ptl::Generator g(5);
  const int P = 3, K = 4;
  const BatchPlan plan = pk_batches(labels, P, K, g);
  REQUIRE(!plan.empty());
  std::map<int64_t, int> chunks_used;
  std::map<int64_t, int> uses;  // per sample index (ids with >= K images: at most once)
  for (const auto& b : plan) {
    REQUIRE(b.size() == size_t(P * K));
    std::set<int64_t> ids;
    for (int p = 0; p < P; ++p) {
      const int64_t id = labels[b[p * K]];
      ids.insert(id);
      for (int k = 0; k < K; ++k) REQUIRE(labels[b[p * K + k]] == id);
      ++chunks_used[id];
    }
    CHECK(ids.size() == size_t(P));
    for (int64_t i : b) ++uses[i];
  }
  for (auto [i, n] : uses) {
    const int64_t id = labels[i];
    const auto count = std::count(labels.begin(), labels.end(), id);
    if (count >= K) CHECK(n == 1);
    CHECK(chunks_used[id] <= std::max<int64_t>(1, count / K));
  }
  // The loop ends when fewer than P ids have chunks: count what was left over.
  std::map<int64_t, int> total_chunks;
  for (int64_t id : std::set<int64_t>(labels.begin(), labels.end()))
    total_chunks[id] = std::max<int>(1, int(std::count(labels.begin(), labels.end(), id)) / K);
  int left_ids = 0;
  for (auto [id, n] : total_chunks) left_ids += chunks_used[id] < n;
  CHECK(left_ids < P);

  ptl::Generator g2(5), g3(6);
  CHECK(pk_batches(labels, P, K, g2) == plan);
  CHECK(pk_batches(labels, P, K, g3) != plan);
  ptl::Generator g4(1);
  CHECK(pk_batches({1, 1, 2}, 3, 2, g4).empty());  // fewer ids than P
  CHECK_THROWS(pk_batches(labels, 0, 4, g4));
}

TEST_CASE("an id with fewer than K images is drawn with replacement", "[data]") {
  ptl::Generator g(2);
  const BatchPlan plan = pk_batches({0, 1, 1, 1, 1}, 2, 4, g);
  REQUIRE(plan.size() == 1);
  std::vector<int64_t> id0;
  for (int64_t i : plan[0])
    if (i == 0) id0.push_back(i);
  CHECK(id0.size() == 4);
}

TEST_CASE("shuffled and sequential batches, drop-last", "[data]") {
  ptl::Generator g(9);
  const BatchPlan s = shuffled_batches(10, 4, false, g);
  REQUIRE(s.size() == 3);
  CHECK(s[2].size() == 2);
  std::vector<int64_t> all;
  for (const auto& b : s) all.insert(all.end(), b.begin(), b.end());
  std::sort(all.begin(), all.end());
  for (int64_t i = 0; i < 10; ++i) CHECK(all[i] == i);
  ptl::Generator g2(9);
  CHECK(shuffled_batches(10, 4, true, g2).size() == 2);
  const BatchPlan q = sequential_batches(5, 2, false);
  CHECK(q == BatchPlan{{0, 1}, {2, 3}, {4}});
  CHECK(sequential_batches(5, 2, true) == BatchPlan{{0, 1}, {2, 3}});
  CHECK(sequential_batches(0, 2, false).empty());
}

TEST_CASE("release PK batches: every identity once per epoch, K distinct images where it has K",
          "[data]") {
  // Market-1501's shape: 751 identities (here with 1..20 images each), P = 4, K = 4.
  std::vector<int64_t> labels;
  for (int id = 0; id < 751; ++id)
    for (int j = 0; j < 1 + id % 20; ++j) labels.push_back(id);
  ptl::Generator g(7);
  const BatchPlan plan = pk_release_batches(labels, 4, 4, g);
  // 187 batches of 4 identities: the release's DataLoader drops the short last batch
  // (drop_last=True), so 3 identities sit out each epoch.
  REQUIRE(plan.size() == 187);
  CHECK(std::all_of(plan.begin(), plan.end(), [](const auto& b) { return b.size() == 16; }));
  std::map<int64_t, int> seen;  // identity -> batches it appears in
  for (const auto& b : plan) {
    std::map<int64_t, std::set<int64_t>> images;
    for (int64_t i : b) images[labels[i]].insert(i);
    CHECK(images.size() * 4 == b.size());  // K indices per identity
    for (const auto& [id, imgs] : images) {
      ++seen[id];
      const auto have = std::count(labels.begin(), labels.end(), id);
      // K distinct images where it has K; else K draws from its images repeated K times.
      if (have >= 4)
        CHECK(imgs.size() == 4);
      else
        CHECK(imgs.size() <= static_cast<size_t>(have));
    }
  }
  CHECK(seen.size() == 748);
  CHECK(std::all_of(seen.begin(), seen.end(), [](const auto& kv) { return kv.second == 1; }));
  // torchreid's rule uses nearly every image: far more batches for the same data.
  ptl::Generator g2(7);
  CHECK(pk_batches(labels, 4, 4, g2).size() > 2 * plan.size());
  // 11 identities, P = 4: 2 batches, the last 3 identities dropped (not a short third batch);
  // fewer than P identities: no batch.
  std::vector<int64_t> eleven;
  for (int64_t id = 0; id < 11; ++id) eleven.insert(eleven.end(), {id, id});
  ptl::Generator g3(1);
  CHECK(pk_release_batches(eleven, 4, 2, g3).size() == 2);
  CHECK(pk_release_batches({0, 0, 1, 1, 2, 2}, 4, 2, g3).empty());
}

TEST_CASE("data-parallel shards: whole identities, in rank order, together the batch", "[data]") {
  // Two PK batches of 3 and 2 identities (K = 2), over 2 ranks.
  const BatchPlan plan = {{10, 11, 20, 21, 30, 31}, {40, 41, 50, 51}};
  std::vector<int64_t> pos0, pos1;
  const BatchPlan r0 = shard_batches(plan, 2, 0, 2, pos0), r1 = shard_batches(plan, 2, 1, 2, pos1);
  CHECK(r0 == BatchPlan{{10, 11}, {40, 41}});
  CHECK(r1 == BatchPlan{{20, 21, 30, 31}, {50, 51}});
  CHECK(pos0 == std::vector<int64_t>{0, 0});
  CHECK(pos1 == std::vector<int64_t>{2, 2});
  std::vector<int64_t> pos;
  CHECK(shard_batches(plan, 2, 0, 1, pos) == plan);     // one rank: the plan itself
  CHECK_THROWS_WITH(shard_batches(plan, 2, 0, 3, pos),  // rank 0 of 3 gets none of 2
                    Catch::Contains("batch 1 has 2 identities, too few for 3 ranks"));
  CHECK_THROWS_WITH(shard_batches(plan, 4, 0, 2, pos), Catch::Contains("not whole groups of 4"));
}
