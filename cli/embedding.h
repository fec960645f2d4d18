// Features of image files under trained weights, as `ptl extract` computes them, and the file
// `ptl embed` writes (docs/deploy.md): safetensors with one tensor, `features` (N, D) float32,
// and in the metadata `paths` (a JSON array of N strings: row i's image file, as opened),
// `skipped` (a count) and `skipped_paths` (a JSON array), `model`, `weights`, `config` (the
// --config file), `config_yaml` (the whole configuration, overrides included), `flip`
// ("true"/"false") and `images` (the --images argument).
#pragma once
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "data/bad_input.h"
#include "engine/tensor.h"
#include "train/experiment.h"

namespace ptl::cli {

struct Embedding {
  Tensor features;                   // (N, D) float32, unit rows
  std::vector<std::string> paths;    // row i's image
  std::vector<std::string> skipped;  // images that did not load (data.on_bad_image=skip)
};

// The rows of `paths` through e's model exactly as `ptl extract` runs it
// (evaluation/model_eval.h extract_feature_rows: the eval transform, the retrieval feature,
// flip-averaged when `flip`, L2-normalised, the evaluation random stream), `batch` images at a
// time. An image that does not load follows `bad` (BadInput: error names the file and the
// setting; skip leaves its row out); null, its error is thrown. Every image skipped: an error.
Embedding embed_images(Experiment& e, const std::vector<std::string>& paths, int64_t batch,
                       bool flip, const std::shared_ptr<data::BadInput>& bad,
                       const std::function<void(int64_t, int64_t)>& progress = nullptr);

// A file `ptl embed` wrote, with its metadata; errors name the file and what is missing.
struct EmbeddingFile {
  Embedding rows;
  std::map<std::string, std::string> meta;
};
EmbeddingFile load_embedding(const std::string& path);

}  // namespace ptl::cli
