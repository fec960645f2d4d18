// `ptl visrank`: pictures of each query's top-ranked gallery images (green: match, red: miss).
#include <cstdio>
#include <fstream>

#include "base/error.h"
#include "base/text.h"
#include "cli/args.h"
#include "cli/command.h"
#include "data/file_util.h"
#include "data/reid_datasets.h"
#include "evaluation/reid_eval.h"
#include "pictures/visrank.h"

namespace {

const char* kUsage =
    "usage: ptl visrank --features F.safetensors --out DIR [--query-images QLIST --gallery-images "
    "GLIST] [options]\n"
    "\n"
    "F is as for `ptl evaluate` (features or distmat, with person and camera ids). The images are "
    "the\n"
    "paths `ptl extract` stores in F; for other files, QLIST and GLIST list one image path per "
    "line in\n"
    "the order of F's rows. A list whose Market-style file names (<pid>_c<cam>...) disagree with "
    "F's\n"
    "person ids is refused: it is not in F's row order.\n"
    "\n"
    "options:\n"
    "  --root DIR        prefix for relative paths in the lists\n"
    "  --topk K          gallery images per picture (default 10)\n"
    "  --num-queries N   pictures for the first N queries (default all); or --query I for one\n"
    "  --metric M        euclidean (default) | sqeuclidean | cosine\n"
    "  --rerank [--k1 N --k2 N --lambda X]   rank by re-ranked distances\n"
    "  --width W --height H   size of each image in the picture (default 128 x 256)";

std::vector<std::string> read_list(const std::string& path) {
  std::ifstream f(path);
  PTL_CHECK(f.good(), "ptl visrank: cannot read the image list ", path);
  std::vector<std::string> out;
  for (std::string line; std::getline(f, line);) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (!line.empty()) out.push_back(line);
  }
  return out;
}

// The image of each row of one side (query or gallery): the list file `flag` names when given,
// else the paths the features file records. A list must have one line per row, and every file
// name that carries a person id must carry the row's id.
std::vector<std::string> side_images(const ptl::cli::Args& args, const std::string& flag,
                                     const std::vector<std::string>& recorded,
                                     const std::vector<int64_t>& pids) {
  using namespace ptl;
  std::vector<std::string> images = recorded;
  if (args.has(flag)) {
    const std::string list = args.get(flag);
    images = read_list(list);
    PTL_CHECK(images.size() == pids.size(), "ptl visrank: ", list, " lists ", images.size(),
              " images but the features have ", pids.size(), " rows");
    for (size_t i = 0; i < images.size(); ++i) {
      int64_t pid = 0, cam = 0;
      PTL_CHECK(!data::parse_market_name(data::base_name(images[i]), pid, cam) || pid == pids[i],
                "ptl visrank: ", list, " line ", i + 1, " (", images[i], ") is person ", pid,
                " but feature row ", i, " is person ", pids[i],
                ": the list is not in the features' row order; leave --", flag,
                " out to use the paths `ptl extract` recorded");
    }
  }
  PTL_CHECK(!images.empty() || pids.empty(), "ptl visrank: ", args.require("features"),
            " records no image paths (it was not written by `ptl extract`); give --", flag,
            " LIST");
  const std::string root = args.get("root");
  for (std::string& p : images)
    if (!root.empty() && p[0] != '/') p = root + "/" + p;
  return images;
}

int run(const std::vector<std::string>& argv) {
  using namespace ptl;
  cli::Args args(kUsage,
                 {"features", "query-images", "gallery-images", "out", "root", "topk",
                  "num-queries", "query", "metric", "k1", "k2", "lambda", "width", "height"},
                 {"rerank"});
  if (!args.parse(argv)) return 0;
  EvalConfig cfg;
  cfg.metric = parse_metric(args.get("metric", "euclidean"));
  cfg.rerank = args.flag("rerank");
  cfg.rerank_opt.k1 = int(args.get_int("k1", 20));
  cfg.rerank_opt.k2 = int(args.get_int("k2", 6));
  cfg.rerank_opt.lambda = args.get_double("lambda", 0.3);
  VisrankOptions opt;
  opt.topk = int(args.get_int("topk", 10));
  opt.cell_w = int(args.get_int("width", 128));
  opt.cell_h = int(args.get_int("height", 256));

  EvalInputs in = load_eval_inputs(args.require("features"));
  const auto q_images = side_images(args, "query-images", in.query_paths, in.query.pids);
  const auto g_images = side_images(args, "gallery-images", in.gallery_paths, in.gallery.pids);
  const std::string out_dir = args.require("out");
  auto dist = make_distance_source(in, cfg);
  std::vector<int64_t> queries;
  if (args.has("query")) {
    queries.push_back(args.get_int("query", 0));
  } else {
    const int64_t n = std::min<int64_t>(args.get_int("num-queries", dist->rows()), dist->rows());
    for (int64_t q = 0; q < n; ++q) queries.push_back(q);
  }
  const auto written =
      write_ranked_results(*dist, in.query, in.gallery, q_images, g_images, queries, out_dir, opt);
  std::printf("wrote %s to %s\n", count_of(int64_t(written.size()), "picture").c_str(),
              out_dir.c_str());
  return 0;
}

}  // namespace

PTL_COMMAND("visrank", "pictures of ranked results: query + top-k gallery, green match / red miss",
            run);
