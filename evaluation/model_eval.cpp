#include "evaluation/model_eval.h"

#include <cstdio>

#include "data/loader.h"
#include "engine/autograd.h"
#include "engine/ops.h"
#include "engine/rng.h"
#include "evaluation/reid_eval.h"

namespace ptl {

Tensor extract_features(Model& model, const std::shared_ptr<const data::DataSource>& src,
                        const data::Transform& t, const ExtractOptions& opt) {
  PTL_CHECK(!opt.stop_on_bad || opt.stop_on_bad->policy() == data::OnBad::Error,
            "extract_features: rows cannot be skipped");
  FeatureRows r = extract_feature_rows(model, src, t, opt, opt.stop_on_bad);
  PTL_CHECK(r.features.defined(), "extract_features: the split is empty");
  return r.features;
}

FeatureRows extract_feature_rows(Model& model, const std::shared_ptr<const data::DataSource>& src,
                                 const data::Transform& t, const ExtractOptions& opt,
                                 const std::shared_ptr<data::BadInput>& bad) {
  NoGradGuard ng;
  PrecisionScope precision(opt.precision);
  // BConv-Cells draw fresh states from the global generator. Evaluation runs on a stream of its
  // own, started anew from opt.seed, so its result does not depend on what training drew before;
  // training's stream is restored on the way out, so a run evaluated every N epochs trains
  // exactly like one that is not.
  Generator& g = default_generator();
  struct Restore {
    Generator& g;
    uint64_t seed, offset;
    ~Restore() { g.set_state(seed, offset); }
  } restore{g, g.seed(), g.offset()};
  g.set_state(opt.seed, 0);
  const bool was_training = model.is_training();
  model.eval();
  model.reset_state();
  data::LoaderOptions lo;
  lo.workers = opt.workers;
  lo.pin_memory = model.device().is_cuda();
  if (opt.precision == Precision::BF16) lo.images = DType::BF16;  // no float32 batch
  lo.bad = bad;
  const data::BatchPlan plan = data::sequential_batches(src->size(), opt.batch, false);
  data::Loader loader(src, t, plan, lo);
  std::vector<Tensor> parts;
  FeatureRows rows;
  data::Batch b;
  const Device device = model.device();
  auto embed = [&](const Tensor& images) {
    ModelOutput out = model.forward(images);
    return opt.retrieval ? out.feature : out.logits.at(0);
  };
  int64_t done = 0;
  while (loader.next(b)) {
    done += static_cast<int64_t>(plan[b.number].size());
    if (b.size() > 0) {  // a batch whose every image was skipped is empty
      const Tensor images = b.images.to(device);
      Tensor f = embed(images);
      if (opt.flip && opt.retrieval) f = add(f, embed(flip(images, 3)));
      parts.push_back(
          (opt.retrieval ? l2_normalize(f, 1) : f).to(Device::cpu()));  // metrics run on the host
      for (int64_t i : b.indices.to_int_vector()) rows.samples.push_back(i);
    }
    if (opt.progress) opt.progress(done, src->size());
  }
  model.train(was_training);
  if (!parts.empty()) rows.features = cat(parts, 0);
  return rows;
}

std::string ModelScore::summary() const {
  char buf[160];
  if (reid)
    std::snprintf(buf, sizeof buf,
                  "mAP %.2f%%  Rank-1 %.2f%%  Rank-5 %.2f%%  Rank-10 %.2f%%  mINP %.2f%%", mAP,
                  rank1, rank5, rank10, mINP);
  else
    std::snprintf(buf, sizeof buf, "accuracy %.2f%%", accuracy);
  return buf;
}

std::string ModelScore::json() const {
  char buf[200];
  if (reid)
    std::snprintf(
        buf, sizeof buf,
        "\"mAP\": %.6f, \"rank1\": %.6f, \"rank5\": %.6f, \"rank10\": %.6f, \"mINP\": %.6f", mAP,
        rank1, rank5, rank10, mINP);
  else
    std::snprintf(buf, sizeof buf, "\"accuracy\": %.6f", accuracy);
  return buf;
}

ModelScore evaluate_reid_model(Model& model, const std::shared_ptr<const data::DataSource>& query,
                               const std::shared_ptr<const data::DataSource>& gallery,
                               const data::Transform& t, const ExtractOptions& opt, Metric metric,
                               bool rerank) {
  ExtractOptions o = opt;
  o.retrieval = true;
  EvalInputs in;
  in.query_features = extract_features(model, query, t, o);
  in.gallery_features = extract_features(model, gallery, t, o);
  for (int64_t i = 0; i < query->size(); ++i) {
    in.query.pids.push_back(query->label(i));
    in.query.camids.push_back(query->camid(i));
  }
  for (int64_t i = 0; i < gallery->size(); ++i) {
    in.gallery.pids.push_back(gallery->label(i));
    in.gallery.camids.push_back(gallery->camid(i));
  }
  EvalConfig cfg;
  cfg.metric = metric;
  cfg.rerank = rerank;
  EvalResult r = run_evaluation(in, cfg);
  ModelScore s;
  s.mAP = 100 * r.mAP;
  s.mINP = 100 * r.mINP;
  auto at = [&](size_t k) { return 100 * r.cmc[std::min(k, r.cmc.size()) - 1]; };
  s.rank1 = at(1);
  s.rank5 = at(5);
  s.rank10 = at(10);
  return s;
}

ModelScore evaluate_classifier(Model& model, const std::shared_ptr<const data::DataSource>& test,
                               const data::Transform& t, const ExtractOptions& opt) {
  ExtractOptions o = opt;
  o.flip = false;
  o.retrieval = false;
  Tensor logits = extract_features(model, test, t, o);
  std::vector<int64_t> pred = max(logits, 1).indices.to_int_vector();
  int64_t correct = 0;
  for (int64_t i = 0; i < test->size(); ++i) correct += pred[i] == test->label(i);
  ModelScore s;
  s.reid = false;
  s.accuracy = 100.0 * static_cast<double>(correct) / static_cast<double>(test->size());
  return s;
}

}  // namespace ptl
