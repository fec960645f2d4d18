// Model: a Module whose forward gives every output the trainer, the evaluator and the CLI need.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "layers/module.h"

namespace ptl {

struct ModelOutput {
  Tensor feature;               // (N, D): the retrieval feature (ReID) or the classifier's input
  std::vector<Tensor> logits;   // (N, K) per classifier (MGN: 8)
  std::vector<Tensor> triplet;  // (N, d) features for the triplet loss (MGN: the 3 global ones)
};

class Model : public Module {
 public:
  virtual ModelOutput forward(const Tensor& x) = 0;
  // The output `ptl forward` reports and differentiates: MGN's retrieval feature, the other
  // models' first logits. Evaluation does not ask the model: whether a run retrieves (ReID) or
  // classifies is the experiment's (ExtractOptions::retrieval).
  virtual bool reid() const { return false; }

  // The main output: `feature` for ReID models, `logits[0]` otherwise.
  Tensor main_output(const ModelOutput& out) const {
    return reid() ? out.feature : out.logits.at(0);
  }
};

// Every output by name: "feature", "logits.0", ..., "triplet.0", ... (the `ptl forward` keys).
std::vector<std::pair<std::string, Tensor>> named_outputs(const ModelOutput& out);

}  // namespace ptl
