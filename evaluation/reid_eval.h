// ReID evaluation end to end: the inputs of `ptl evaluate` (features or a distance matrix, with
// person and camera ids), their validation, the choice of distance source (features, distmat,
// re-ranked) and the JSON report. See docs/evaluation.md.
#pragma once
#include <map>
#include <memory>
#include <string>

#include "engine/tensor.h"
#include "evaluation/distance.h"
#include "evaluation/reid_metrics.h"
#include "evaluation/rerank.h"

namespace ptl {

// Either features (query_features (Q, D), gallery_features (G, D), float32) or distmat
// ((Q, G) float32; plus distmat_qq (Q, Q) and distmat_gg (G, G) for re-ranking).
struct EvalInputs {
  Tensor query_features, gallery_features;
  Tensor distmat, distmat_qq, distmat_gg;
  ReidIds query, gallery;
  // The image of each row, when the file records them (`ptl extract` does, in its metadata
  // keys query_paths and gallery_paths, JSON arrays); empty otherwise.
  std::vector<std::string> query_paths, gallery_paths;
};

// Reads a safetensors file with the tensors named as in EvalInputs plus query_pids,
// query_camids, gallery_pids, gallery_camids (int64 or int32, one per image). Errors name the
// file and the tensor.
EvalInputs load_eval_inputs(const std::string& path);

// The metadata value of a path list (`ptl extract` writes them): a JSON array of strings.
std::string path_list_json(const std::vector<std::string>& paths);
// Metadata `key` of the file `path`, a path list of `n` strings; empty when there is no such
// key. Errors name the file and the key.
std::vector<std::string> read_path_list(const std::map<std::string, std::string>& meta,
                                        const std::string& key, size_t n, const std::string& path);

struct EvalConfig {
  Metric metric = Metric::Euclidean;
  bool rerank = false;
  RerankOptions rerank_opt;
  EvalOptions eval;
  Device device = Device::cpu();  // where the feature GEMMs run
};

// Checks the inputs (shapes, lengths, finite features, a non-empty query set; errors name the
// tensor) and returns the (Q, G) distances they define: from features with cfg.metric, or the
// distmat; re-ranked when cfg.rerank. `in` must outlive the source. Re-ranking from features
// concatenates them into one (Q+G, D) copy and releases in.query_features/gallery_features.
std::unique_ptr<DistanceSource> make_distance_source(EvalInputs& in, const EvalConfig& cfg);

// make_distance_source + evaluate_reid.
EvalResult run_evaluation(EvalInputs& in, const EvalConfig& cfg);

// {"mAP", "Rank-1", "Rank-5", "Rank-10", "mINP" (percent, unrounded), "cmc" (percent, ranks
// 1..K), counts and the settings}. `distance` names where the distances came from (a metric
// name, or "distmat").
std::string eval_json(const EvalResult& r, const EvalConfig& cfg, const std::string& distance);

}  // namespace ptl
