// `ptl evaluate`: ReID retrieval metrics (mAP, CMC, mINP) of saved features or a distance
// matrix, with optional k-reciprocal re-ranking; see docs/evaluation.md.
#include <chrono>
#include <cstdio>
#include <fstream>

#include "base/error.h"
#include "base/text.h"
#include "cli/args.h"
#include "cli/command.h"
#include "evaluation/reid_eval.h"
#include "pictures/cmc_plot.h"

namespace {

const char* kUsage =
    "usage: ptl evaluate --features F.safetensors [options]\n"
    "\n"
    "F holds query_features (Q, D) and gallery_features (G, D) float32, or distmat (Q, G) "
    "float32,\n"
    "plus query_pids, query_camids (Q) and gallery_pids, gallery_camids (G) int64.\n"
    "Protocol: torchreid/Market-1501 (same-id-same-camera gallery entries removed, queries "
    "without\n"
    "a match skipped); mAP, CMC, mINP in percent.\n"
    "\n"
    "options:\n"
    "  --metric M          euclidean (default) | sqeuclidean | cosine (features only)\n"
    "  --max-rank K        length of the CMC curve (default 50; capped at the gallery size)\n"
    "  --rerank            k-reciprocal re-ranking (torchreid's re_ranking); from a distmat it "
    "needs\n"
    "                      distmat_qq (Q, Q) and distmat_gg (G, G) in F too\n"
    "  --k1 N --k2 N --lambda X   re-ranking parameters (default 20, 6, 0.3)\n"
    "  --rerank-memory-gb X       refuse re-ranking whose worst-case working memory is above X GiB "
    "(default 4)\n"
    "  --cuhk03-classic    CMC averaged over draws of one gallery image per person id\n"
    "  --draws N --seed S  draws (default 10) and their seed (default 0) for --cuhk03-classic\n"
    "  --device D          cpu (default) or cuda[:i]: where the feature distance GEMMs run\n"
    "  --json OUT          write the figures unrounded and the full CMC curve as JSON\n"
    "  --cmc-plot OUT.png  draw the CMC curve";

int run(const std::vector<std::string>& argv) {
  using namespace ptl;
  cli::Args args(kUsage,
                 {"features", "metric", "max-rank", "k1", "k2", "lambda", "rerank-memory-gb",
                  "draws", "seed", "device", "json", "cmc-plot"},
                 {"rerank", "cuhk03-classic"});
  if (!args.parse(argv)) return 0;
  PTL_CHECK(args.positional().empty(), "ptl evaluate: unexpected argument '", args.positional()[0],
            "'\n", kUsage);
  const std::string path = args.require("features");

  EvalConfig cfg;
  cfg.metric = parse_metric(args.get("metric", "euclidean"));
  cfg.device = Device::parse(args.get("device", "cpu"));
  cfg.rerank = args.flag("rerank");
  cfg.rerank_opt.k1 = int(args.get_int("k1", 20));
  cfg.rerank_opt.k2 = int(args.get_int("k2", 6));
  cfg.rerank_opt.lambda = args.get_double("lambda", 0.3);
  cfg.rerank_opt.memory_limit =
      int64_t(args.get_double("rerank-memory-gb", 4.0) * double(int64_t(1) << 30));
  cfg.eval.max_rank = args.get_int("max-rank", 50);
  cfg.eval.cuhk03_classic = args.flag("cuhk03-classic");
  cfg.eval.cuhk03_draws = int(args.get_int("draws", 10));
  cfg.eval.seed = uint64_t(args.get_int("seed", 0));

  const auto t0 = std::chrono::steady_clock::now();
  EvalInputs in = load_eval_inputs(path);
  const bool from_features = in.query_features.defined();
  const std::string distance = from_features ? metric_name(cfg.metric) : "distmat";
  const EvalResult r = run_evaluation(in, cfg);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  std::printf("** Results ** (%s: %s x %lld gallery, %s%s%s)\n", path.c_str(),
              count_of(r.num_query, "query", "queries").c_str(), (long long)in.gallery.pids.size(),
              distance.c_str(), cfg.rerank ? ", re-ranked" : "",
              cfg.eval.cuhk03_classic ? ", CUHK03 classic CMC" : "");
  std::printf("mAP: %.2f%%\n", 100 * r.mAP);
  for (size_t k : {1, 5, 10})
    if (k <= r.cmc.size()) std::printf("Rank-%zu: %.2f%%\n", k, 100 * r.cmc[k - 1]);
  std::printf("mINP: %.2f%%\n", 100 * r.mINP);
  std::printf("valid queries: %lld of %lld (%lld skipped: no match in the gallery)\n",
              (long long)r.num_valid, (long long)r.num_query, (long long)r.num_skipped);
  std::printf("time: %.2f s\n", secs);

  if (args.has("json")) {
    const std::string out = args.get("json");
    std::ofstream f(out);
    PTL_CHECK(f.good(), "ptl evaluate: cannot write ", out);
    f << eval_json(r, cfg, distance);
    f.close();
    PTL_CHECK(f.good(), "ptl evaluate: cannot write ", out);
  }
  if (args.has("cmc-plot"))
    write_cmc_plot(args.get("cmc-plot"), r.cmc, cmc_plot_title(r.mAP, cfg.rerank),
                   str(path, " (", distance, ")"));
  return 0;
}

}  // namespace

PTL_COMMAND("evaluate", "ReID metrics (mAP, CMC, mINP) of features or a distance matrix", run);
