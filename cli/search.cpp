// `ptl search`: the gallery images nearest to a query image (or to every row of a features
// file), from the features `ptl embed` wrote, with the distances `ptl evaluate` ranks by.
#include <algorithm>
#include <cstdio>

#include "base/text.h"
#include "cli/args.h"
#include "cli/command.h"
#include "cli/config_args.h"
#include "cli/embedding.h"
#include "evaluation/distance.h"
#include "evaluation/reid_metrics.h"
#include "pictures/visrank.h"

namespace ptl::cli {

namespace {
const char* kUsage =
    "usage: ptl search --gallery G.safetensors --query IMAGE|Q.safetensors [--topk K] [--out DIR]\n"
    "                  [--metric M] [--config C.yaml] [--weights W] [key=value ...]\n"
    "Prints, for the query image or for every row of Q (both written by `ptl embed`), the K "
    "nearest\n"
    "gallery images (default 10) with their distances, nearest first (ties: gallery order).\n"
    "--metric: euclidean (default) | sqeuclidean | cosine, as `ptl evaluate` computes them.\n"
    "IMAGE is embedded as `ptl embed` did G: with the configuration and weights G records "
    "(metadata\n"
    "config_yaml and weights) and its flip setting; --config and --weights replace them, and\n"
    "key=value overrides apply to either configuration.\n"
    "--out DIR: one picture per query (the query, then its K nearest gallery images with rank,\n"
    "distance and file name), named as `ptl visrank` names them.";

// The query rows: Q's, or the image embedded as the gallery was.
Embedding query_rows(const Args& a, const EmbeddingFile& gallery) {
  const std::string query = a.require("query"), g = a.require("gallery");
  const std::string ext = ".safetensors";
  if (query.size() > ext.size() && query.compare(query.size() - ext.size(), ext.size(), ext) == 0) {
    PTL_CHECK(!a.has("config") && !a.has("weights") && a.positional().empty(),
              "ptl search: ", query,
              " holds features already; --config, --weights and key=value embed a query "
              "image, leave them out");
    return load_embedding(query).rows;
  }
  const auto& meta = gallery.meta;
  auto recorded = [&](const std::string& key, const std::string& flag) {
    auto it = meta.find(key);
    PTL_CHECK(it != meta.end() && !it->second.empty(), g, " records no ", key,
              " (metadata); give --", flag, " to embed the query image");
    return it->second;
  };
  Config cfg;
  if (a.has("config")) {
    cfg = load_config(a);
  } else {
    cfg = Config::from_yaml(recorded("config_yaml", "config"), g + " metadata config_yaml");
    for (const std::string& o : a.positional()) cfg.apply_override(o);
  }
  const std::string weights = a.has("weights") ? a.get("weights") : recorded("weights", "weights");
  Experiment e = trained_experiment(std::move(cfg), weights, false);
  auto flip = meta.find("flip");
  return embed_images(e, {query}, 1, flip != meta.end() && flip->second == "true", nullptr);
}

int search(const std::vector<std::string>& argv) {
  Args a(kUsage, {"gallery", "query", "topk", "out", "metric", "config", "weights"});
  if (!a.parse(argv)) return 0;
  const std::string g = a.require("gallery");
  const Metric metric = parse_metric(a.get("metric", "euclidean"));
  const int64_t topk = a.get_int("topk", 10);
  PTL_CHECK(topk >= 1, "--topk must be at least 1, got ", topk);
  const EmbeddingFile gallery = load_embedding(g);
  const Embedding query = query_rows(a, gallery);
  const int64_t G = gallery.rows.features.size(0), D = gallery.rows.features.size(1);
  const int64_t Q = query.features.size(0);
  PTL_CHECK(query.features.size(1) == D, "ptl search: the query ", a.require("query"),
            " has features of size ", query.features.size(1), " but the gallery ", g, " has ", D,
            "; embed both with the same model");
  const Tensor qf = query.features.contiguous(), gf = gallery.rows.features.contiguous();
  const FeatureDistance dist(qf.data<float>(), Q, gf.data<float>(), G, D, metric);
  VisrankOptions vo;
  vo.topk = static_cast<int>(topk);
  std::vector<float> row(static_cast<size_t>(G));
  for (int64_t q = 0; q < Q; ++q) {
    dist.fill_rows(q, q + 1, row.data());
    const std::vector<int64_t> top = nearest(row.data(), G, topk);
    std::printf("query %s: the %lld nearest of %s (%s distance)\n", query.paths[q].c_str(),
                static_cast<long long>(top.size()), count_of(G, "gallery image").c_str(),
                metric_name(metric));
    for (size_t k = 0; k < top.size(); ++k)
      std::printf("%4zu  %.6f  %s\n", k + 1, static_cast<double>(row[top[k]]),
                  gallery.rows.paths[top[k]].c_str());
    if (a.has("out"))
      std::printf("picture %s\n", write_search_result(q, query.paths[q], gallery.rows.paths, top,
                                                      row, a.get("out"), vo)
                                      .c_str());
  }
  return 0;
}
}  // namespace

PTL_COMMAND("search", "rank the images of `ptl embed` features by distance to a query", search);

}  // namespace ptl::cli
