#include "cli/embedding.h"

#include "base/error.h"
#include "data/source.h"
#include "engine/safetensors.h"
#include "evaluation/model_eval.h"
#include "evaluation/reid_eval.h"

namespace ptl::cli {

Embedding embed_images(Experiment& e, const std::vector<std::string>& paths, int64_t batch,
                       bool flip, const std::shared_ptr<data::BadInput>& bad,
                       const std::function<void(int64_t, int64_t)>& progress) {
  std::vector<data::ReidItem> items;
  for (const std::string& p : paths) items.push_back({p, 0, -1});
  ExtractOptions eo = e.extract_options();  // workers and the evaluation seed, as extract
  eo.batch = batch;
  eo.flip = flip;
  eo.retrieval = true;
  eo.progress = progress;
  const FeatureRows rows =
      extract_feature_rows(e.model(), data::make_source(items), e.data().eval_transform, eo, bad);
  Embedding out;
  out.features = rows.features;
  size_t next = 0;  // rows.samples ascends: the images between two rows were skipped
  for (int64_t s : rows.samples) {
    for (; next < static_cast<size_t>(s); ++next) out.skipped.push_back(paths[next]);
    out.paths.push_back(paths[next++]);
  }
  for (; next < paths.size(); ++next) out.skipped.push_back(paths[next]);
  PTL_CHECK(!out.paths.empty(), "none of the ", paths.size(),
            " images could be read (data.on_bad_image=skip skipped them all), the first: ",
            bad && !bad->messages().empty() ? bad->messages().front() : paths.front());
  return out;
}

EmbeddingFile load_embedding(const std::string& path) {
  EmbeddingFile f;
  TensorMap t = load_safetensors(path);
  f.meta = load_safetensors_metadata(path);
  auto it = t.find("features");
  PTL_CHECK(it != t.end() && it->second.dim() == 2 && it->second.dtype() == DType::F32, path,
            ": no `features` tensor (N, D) float32; write the file with `ptl embed`");
  f.rows.features = it->second;
  const size_t n = static_cast<size_t>(f.rows.features.size(0));
  f.rows.paths = read_path_list(f.meta, "paths", n, path);
  PTL_CHECK(f.rows.paths.size() == n, path,
            ": no `paths` metadata (the image of each row); write the file with `ptl embed`");
  return f;
}

}  // namespace ptl::cli
