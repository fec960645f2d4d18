// Batch plans for one epoch: lists of dataset indices, one list per batch, in order. The loader
// runs a plan; a sampler only decides which samples go together.
#pragma once
#include <cstdint>
#include <vector>

#include "engine/rng.h"

namespace ptl::data {

using BatchPlan = std::vector<std::vector<int64_t>>;

// The PK identity sampler (torchreid's RandomIdentitySampler): for each identity, in sorted id
// order, shuffle its images (drawing K with replacement when it has fewer than K) and cut them
// into chunks of K (an incomplete last chunk is dropped); then repeatedly pick P distinct
// identities that still have chunks, uniformly, and emit their next chunk each; stop when fewer
// than P identities have chunks left. Every batch has P*K indices. `labels[i]` is sample i's id.
BatchPlan pk_batches(const std::vector<int64_t>& labels, int p, int k, Generator& rng);

// The PK sampler of the PTL/MGN release: an epoch visits every identity once. The identities
// are shuffled; each gives K of its images, drawn without replacement (from its images repeated
// K times when it has fewer than K); consecutive groups of P identities form the batches, and
// the remaining identities (fewer than P) are dropped, as the release's DataLoader does
// (drop_last=True). Market-1501: 751 training identities, P = 4: 187 batches; 3 identities
// sit out each epoch. Fewer than P identities give an empty plan.
BatchPlan pk_release_batches(const std::vector<int64_t>& labels, int p, int k, Generator& rng);

// A random permutation of 0..n-1 cut into batches of `batch`; the last, shorter batch is kept
// unless drop_last.
BatchPlan shuffled_batches(int64_t n, int64_t batch, bool drop_last, Generator& rng);

// Rank `rank` of `world`'s part of every batch of a plan (data parallelism): the batch is cut
// into groups of `group` consecutive indices (a PK batch's identities, group = K; single
// samples, group = 1) and the groups are dealt in order, as evenly as possible, the lower ranks
// first: rank r holds groups [r*G/W, (r+1)*G/W). positions[b] receives where the part starts in
// batch b, so the parts of all ranks, in rank order, are the batch. A batch that leaves a rank
// no group, or is not whole groups, throws.
BatchPlan shard_batches(const BatchPlan& plan, int64_t group, int rank, int world,
                        std::vector<int64_t>& positions);

// 0..n-1 in order, for evaluation.
BatchPlan sequential_batches(int64_t n, int64_t batch, bool drop_last);

}  // namespace ptl::data
