// Evaluating a model: features of a split (flip-averaged and L2-normalised, as the PTL release
// tests; torchreid's default, normalize_feature=False, ranks raw features), the ReID protocol on
// query/gallery, or top-1 accuracy for classification. BConv-Cells start every evaluation forward
// from a fresh state.
#pragma once
#include <functional>
#include <memory>
#include <string>

#include "data/bad_input.h"
#include "data/source.h"
#include "data/transform.h"
#include "engine/precision.h"
#include "evaluation/distance.h"
#include "models/model.h"

namespace ptl {

struct ExtractOptions {
  int64_t batch = 64;
  int workers = 2;
  bool flip = true;
  // What a sample's row is: true, ReID retrieval, the model's `feature` (flip-averaged when
  // `flip`) L2-normalised, for every model (as the PTL release, and fast-reid's default cosine
  // metric; torchreid normalises only with normalize_feature=True);
  // false, the first classifier's logits. A property of the experiment, not of the model class.
  bool retrieval = true;
  // The seed of evaluation's own random stream (the BConv-Cells' fresh states in evaluation
  // mode): every extraction starts it anew, so a model scores the same during training, in
  // `ptl eval` and in `ptl extract`, whatever training drew before.
  uint64_t seed = 0;
  // The precision the model runs in (engine/precision.h): the run's train.precision.
  Precision precision = Precision::F32;
  // An unreadable image stops extraction: with this (policy Error), its error also names the
  // setting that skips such images; null, the loader's error as is. Never a skipping policy:
  // a row left out would shift the ids.
  std::shared_ptr<data::BadInput> stop_on_bad;
  // Called after every batch with the samples done so far (read or skipped) and the total: a
  // progress line. Null: nothing is called.
  std::function<void(int64_t done, int64_t total)> progress;
};

// (N, D) float32 rows of every sample of `src`, in order (ExtractOptions::retrieval).
Tensor extract_features(Model& model, const std::shared_ptr<const data::DataSource>& src,
                        const data::Transform& t, const ExtractOptions& opt);

// extract_features where a row may be left out: under `bad` with policy Skip an image that does
// not load has no row and is counted in `bad` (ptl embed, whose rows carry their paths); policy
// Error stops as stop_on_bad does (which `bad` replaces here); null, the loader's error as is.
struct FeatureRows {
  Tensor features;               // (N, D) float32; undefined when no sample loaded
  std::vector<int64_t> samples;  // the sample of `src` behind each row, ascending
};
FeatureRows extract_feature_rows(Model& model, const std::shared_ptr<const data::DataSource>& src,
                                 const data::Transform& t, const ExtractOptions& opt,
                                 const std::shared_ptr<data::BadInput>& bad);

struct ModelScore {
  bool reid = true;
  double mAP = 0, rank1 = 0, rank5 = 0, rank10 = 0, mINP = 0;  // percentages
  double accuracy = 0;                                         // percentage
  double main() const { return reid ? mAP : accuracy; }        // what "best" means
  std::string summary() const;                                 // one log line
  std::string json() const;
};

ModelScore evaluate_reid_model(Model& model, const std::shared_ptr<const data::DataSource>& query,
                               const std::shared_ptr<const data::DataSource>& gallery,
                               const data::Transform& t, const ExtractOptions& opt, Metric metric,
                               bool rerank);
ModelScore evaluate_classifier(Model& model, const std::shared_ptr<const data::DataSource>& test,
                               const data::Transform& t, const ExtractOptions& opt);

}  // namespace ptl
