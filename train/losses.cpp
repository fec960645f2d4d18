#include "train/losses.h"

#include <cmath>
#include <unordered_map>

#include "engine/autograd.h"
#include "engine/ops.h"

namespace ptl {

void check_triplet_labels(const std::vector<int64_t>& y) {
  std::unordered_map<int64_t, int64_t> count;
  for (int64_t v : y) ++count[v];
  const int64_t N = static_cast<int64_t>(y.size());
  for (int64_t i = 0; i < N; ++i) {
    const int64_t pos = count[y[i]], neg = N - pos;
    PTL_CHECK(pos >= 2 && neg >= 1, "triplet loss: sample ", i, " (label ", y[i],
              ") has no other positive or no negative in the batch; use a PK sampler with K >= 2 "
              "and P >= 2");
  }
}

double TripletResult::precision() const {
  const std::vector<double> ap = pos_value.to_double_vector(), an = neg_value.to_double_vector();
  int64_t correct = 0;
  for (size_t i = 0; i < ap.size(); ++i) correct += an[i] > ap[i];
  return ap.empty() ? 0.0 : static_cast<double>(correct) / static_cast<double>(ap.size());
}

TripletResult batch_hard_triplet(const Tensor& features, const Tensor& labels, double margin) {
  PTL_CHECK(features.dim() == 2, "triplet loss: features must be (N, D), got ",
            features.shape_str());
  PTL_CHECK(labels.dtype() == DType::I64 && labels.dim() == 1 && labels.size(0) == features.size(0),
            "triplet loss: labels must be int64 (", features.size(0), "), got ",
            dtype_name(labels.dtype()), labels.shape_str());
  if (labels.device().is_cpu()) check_triplet_labels(labels.to_int_vector());
  Tensor dist = pairwise_distance(features, features);
  // The mining kernel picks the hardest positive and negative per anchor on the features'
  // device; the gradient reaches only the chosen elements of dist.
  BatchHardMined mined = batch_hard_mine(dist, labels.to(features.device()));
  Tensor d_ap = gather_pairs(dist, mined.pos_index);
  Tensor d_an = gather_pairs(dist, mined.neg_index);
  Tensor diff = sub(d_ap, d_an);
  Tensor loss;
  if (margin > 0) {
    loss = mean(relu(add(diff, margin)));
  } else {
    // log(1 + exp(x)) = relu(x) + log(1 + exp(-|x|)), stable for large |x|.
    loss = mean(add(relu(diff), log(add(exp(neg(abs(diff))), 1.0))));
  }
  return {loss, mined.pos_value, mined.neg_value};
}

double top1_accuracy(const Tensor& logits, const Tensor& labels) {
  NoGradGuard ng;
  std::vector<int64_t> pred = max(logits, 1).indices.to_int_vector(), y = labels.to_int_vector();
  int64_t correct = 0;
  for (size_t i = 0; i < y.size(); ++i) correct += pred[i] == y[i];
  return y.empty() ? 0.0 : static_cast<double>(correct) / static_cast<double>(y.size());
}

MgnLossResult mgn_loss(const std::vector<Tensor>& triplet_features,
                       const std::vector<Tensor>& logits, const Tensor& labels, double margin,
                       double label_smoothing) {
  PTL_CHECK(!triplet_features.empty() && !logits.empty(),
            "MGN loss: needs triplet features and logits");
  Tensor tri = batch_hard_triplet(triplet_features[0], labels, margin).loss;
  for (size_t i = 1; i < triplet_features.size(); ++i)
    tri = add(tri, batch_hard_triplet(triplet_features[i], labels, margin).loss);
  tri = mul(tri, 1.0 / static_cast<double>(triplet_features.size()));
  Tensor ce = cross_entropy(logits[0], labels, label_smoothing);
  Tensor summed = logits[0].detach();
  for (size_t i = 1; i < logits.size(); ++i) {
    ce = add(ce, cross_entropy(logits[i], labels, label_smoothing));
    NoGradGuard ng;
    summed = add(summed, logits[i].detach());
  }
  ce = mul(ce, 1.0 / static_cast<double>(logits.size()));
  return {add(tri, ce), tri, ce, summed, labels};
}

double MgnLossResult::accuracy() const {
  return top1_accuracy(summed_logits, labels);
}

}  // namespace ptl
