// Training losses: batch-hard triplet (hinge with margin, or soft margin), cross-entropy with
// label smoothing (engine/ops.h), and the MGN loss of the authors' release.
#pragma once
#include <vector>

#include "engine/tensor.h"

namespace ptl {

struct TripletResult {
  Tensor loss;                  // scalar
  Tensor pos_value, neg_value;  // (N): each anchor's hardest positive and negative distance
  // The fraction of anchors whose hardest negative is farther than the hardest positive; read
  // on the host when asked, so the loss itself never waits for the device.
  double precision() const;
};

// Every anchor of a batch-hard triplet loss needs a positive other than itself and a negative,
// which a PK batch (K >= 2, P >= 2) guarantees: an error naming the first sample without.
void check_triplet_labels(const std::vector<int64_t>& labels);

// features (N, D), labels (N) int64 (checked by check_triplet_labels when they are on the CPU;
// a caller with device labels checks its host copy: the trainer does). Euclidean distances with a
// 1e-12 floor before the square root; for each anchor the hardest positive (max distance, same
// label, the anchor included as torchreid does) and hardest negative (min distance, other label);
// margin > 0: mean of max(0, d_ap - d_an + margin); margin <= 0: soft margin mean(log(1 + exp(d_ap
// - d_an))).
TripletResult batch_hard_triplet(const Tensor& features, const Tensor& labels, double margin);

// The release's MGN loss: mean of the triplet losses over `triplet_features` + mean of the
// cross-entropies over `logits`, all against `labels`.
struct MgnLossResult {
  Tensor loss, triplet, cross_entropy;  // scalars: total and the two means
  Tensor summed_logits, labels;         // detached (N, K) and (N): what accuracy() reads
  // Top-1 of the summed logits, read on the host when asked (after a graph replay, too).
  double accuracy() const;
};
MgnLossResult mgn_loss(const std::vector<Tensor>& triplet_features,
                       const std::vector<Tensor>& logits, const Tensor& labels, double margin,
                       double label_smoothing = 0.0);

// Top-1 accuracy of logits (N, K) against labels (N).
double top1_accuracy(const Tensor& logits, const Tensor& labels);

}  // namespace ptl
