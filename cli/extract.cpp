// `ptl extract`: the query and gallery features of trained weights, for `ptl evaluate` and
// `ptl visrank`.
#include <cstdio>

#include "cli/args.h"
#include "cli/command.h"
#include "cli/config_args.h"
#include "engine/ops.h"
#include "engine/safetensors.h"
#include "evaluation/model_eval.h"
#include "evaluation/reid_eval.h"

namespace ptl::cli {

namespace {
int extract(const std::vector<std::string>& argv) {
  Args a(
      "usage: ptl extract --config configs/X.yaml --weights W.safetensors --out F.safetensors "
      "[--precision float32|bf16] [key=value ...]\n"
      "Writes query_features, gallery_features (flip-averaged, L2-normalised), query_pids, "
      "query_camids,\n"
      "gallery_pids, gallery_camids: the input of `ptl evaluate --features F` and `ptl visrank`; "
      "each row's\n"
      "image path goes to the metadata (query_paths, gallery_paths). W: best.safetensors or any "
      "checkpoint.",
      {"config", "weights", "out", "precision"});
  if (!a.parse(argv)) return 0;
  Experiment e = trained_experiment(a);
  const TaskData& data = e.data();
  PTL_CHECK(data.reid, "extract: data.format '", e.settings().data.format,
            "' is not a ReID dataset");
  const ExtractOptions& eo = e.extract_options();  // as the run's evaluations
  TensorMap out;
  auto ids = [](const data::DataSource& s, bool cams) {
    std::vector<int64_t> v;
    for (int64_t i = 0; i < s.size(); ++i) v.push_back(cams ? s.camid(i) : s.label(i));
    return from_vector(v, {s.size()});
  };
  auto paths = [](const data::DataSource& s) {
    std::vector<std::string> v;
    for (int64_t i = 0; i < s.size(); ++i) v.push_back(s.path(i));
    return path_list_json(v);
  };
  out["query_features"] = extract_features(e.model(), data.query, data.eval_transform, eo);
  out["gallery_features"] = extract_features(e.model(), data.gallery, data.eval_transform, eo);
  out["query_pids"] = ids(*data.query, false);
  out["query_camids"] = ids(*data.query, true);
  out["gallery_pids"] = ids(*data.gallery, false);
  out["gallery_camids"] = ids(*data.gallery, true);
  save_safetensors(a.require("out"), out,
                   {{"model", e.settings().model.name},
                    {"weights", a.require("weights")},
                    {"query_paths", paths(*data.query)},
                    {"gallery_paths", paths(*data.gallery)}});
  std::printf("wrote %s: %lld query and %lld gallery features of dimension %lld\n",
              a.require("out").c_str(), static_cast<long long>(out["query_features"].size(0)),
              static_cast<long long>(out["gallery_features"].size(0)),
              static_cast<long long>(out["query_features"].size(1)));
  return 0;
}
}  // namespace

PTL_COMMAND("extract", "write query/gallery features for `ptl evaluate`", extract);

}  // namespace ptl::cli
