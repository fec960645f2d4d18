// `ptl evaluate` and `ptl visrank` end to end through the binary: printed figures, --json,
// --cmc-plot, the distmat and re-ranking paths, and clear errors for bad input.
#include <catch2/catch.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "data/image_decode.h"
#include "data/image_encode.h"
#include "engine/json.h"
#include "evaluation/reid_eval.h"
#include "pictures/cmc_plot.h"
#include "reid_test_util.h"
#include "tests/picture_test_util.h"
#include "tests/test_util.h"

using namespace ptl;
using Catch::Matchers::Contains;
using reid_test::f32;
using reid_test::i64;

namespace {

// Features of Q queries and G gallery images around 8 identity centres, 2 cameras.
TensorMap feature_set(int64_t Q, int64_t G, int64_t D, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> n01;
  std::vector<float> centres(8 * D), qf(Q * D), gf(G * D);
  for (float& v : centres) v = n01(rng);
  std::vector<int64_t> qp, qc, gp, gc;
  auto make = [&](int64_t n, std::vector<float>& f, std::vector<int64_t>& p,
                  std::vector<int64_t>& c, int64_t cam0) {
    for (int64_t i = 0; i < n; ++i) {
      p.push_back(i % 8);
      c.push_back((i + cam0) % 2);
      for (int64_t k = 0; k < D; ++k) f[i * D + k] = centres[(i % 8) * D + k] + 0.8f * n01(rng);
    }
  };
  make(Q, qf, qp, qc, 0);
  make(G, gf, gp, gc, 1);
  return {{"query_features", f32(qf, {Q, D})},
          {"gallery_features", f32(gf, {G, D})},
          {"query_pids", i64(qp)},
          {"query_camids", i64(qc)},
          {"gallery_pids", i64(gp)},
          {"gallery_camids", i64(gc)}};
}

Json read_json(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return Json::parse(ss.str(), path);
}

}  // namespace

TEST_CASE("ptl evaluate prints the figures and writes JSON equal to the library's", "[reid][cli]") {
  ptl::test::TempDir dir;
  const std::string f = dir.file("feat.safetensors"), js = dir.file("out.json"),
                    png = dir.file("cmc.png");
  save_safetensors(f, feature_set(40, 120, 16, 1));
  const auto r = test::run_ptl("evaluate --features " + f + " --metric cosine --json " + js +
                               " --cmc-plot " + png);
  INFO(r.out);
  REQUIRE(r.rc == 0);
  for (const char* s :
       {"mAP: ", "Rank-1: ", "Rank-5: ", "Rank-10: ", "mINP: ", "valid queries: 40 of 40"})
    CHECK_THAT(r.out, Contains(s));

  EvalInputs in = load_eval_inputs(f);
  EvalConfig cfg;
  cfg.metric = Metric::Cosine;
  const EvalResult want = run_evaluation(in, cfg);
  const Json j = read_json(js);
  CHECK(j.find("mAP")->number == 100 * want.mAP);  // %.17g round-trips exactly
  CHECK(j.find("mINP")->number == 100 * want.mINP);
  CHECK(j.find("Rank-1")->number == 100 * want.cmc[0]);
  CHECK(j.find("num_valid")->number == 40);
  CHECK(j.find("distance")->string == "cosine");
  REQUIRE(j.find("cmc")->array.size() == 50);
  for (size_t k = 0; k < 50; ++k) CHECK(j.find("cmc")->array[k].number == 100 * want.cmc[k]);
  char line[64];
  std::snprintf(line, sizeof line, "mAP: %.2f%%", 100 * want.mAP);
  CHECK_THAT(r.out, Contains(line));
  const data::Image plot = data::load_image(png);
  CHECK(plot.w == 800);
  CHECK(plot.h == 530);
  // The plot names what it evaluated (its start cut to "..." when wider than the picture), and
  // its mAP in the printed rounding, in lower case.
  std::string head = "features: " + f + " (cosine)";
  if (head.size() > 65) head = "..." + head.substr(head.size() - 62);
  CHECK(test::shows_text(plot, 8, 12, head, 2));
  const std::string title = cmc_plot_title(want.mAP, false);
  CHECK(test::shows_text(plot, 800 - 30 - Canvas::text_width(title, 2), 50, title, 2));
}

TEST_CASE("the CMC plot's title rounds the mAP as the printed figures do", "[reid][cli]") {
  CHECK(cmc_plot_title(0.304596, false) == "mAP 30.46%");  // was truncated to 30.45
  CHECK(cmc_plot_title(0.0987654, false) == "mAP 9.88%");  // was "9.876"
  CHECK(cmc_plot_title(1.0, true) == "re-ranked  mAP 100.00%");
}

TEST_CASE("ptl evaluate: a distmat gives the same numbers as its features; re-ranking both ways",
          "[reid][cli]") {
  ptl::test::TempDir dir;
  TensorMap feats = feature_set(30, 90, 8, 2);
  const std::string f = dir.file("feat.safetensors"), d = dir.file("dist.safetensors");
  save_safetensors(f, feats);
  // The same distances as a distmat, with the q-q and g-g blocks re-ranking needs.
  const int64_t Q = 30, G = 90, N = Q + G, D = 8;
  std::vector<float> x(N * D), full(N * N);
  std::copy_n(feats["query_features"].data<float>(), Q * D, x.begin());
  std::copy_n(feats["gallery_features"].data<float>(), G * D, x.begin() + Q * D);
  FeatureDistance(x.data(), N, x.data(), N, D, Metric::Euclidean).fill_rows(0, N, full.data());
  std::vector<float> qq, qg, gg;
  for (int64_t r = 0; r < N; ++r)
    for (int64_t c = 0; c < N; ++c) {
      if (r < Q)
        (c < Q ? qq : qg).push_back(full[r * N + c]);
      else if (c >= Q)
        gg.push_back(full[r * N + c]);
    }
  TensorMap dm = feats;
  dm.erase("query_features");
  dm.erase("gallery_features");
  dm["distmat"] = f32(qg, {Q, G});
  dm["distmat_qq"] = f32(qq, {Q, Q});
  dm["distmat_gg"] = f32(gg, {G, G});
  save_safetensors(d, dm);

  auto figures = [&](const std::string& args) {
    const std::string js = dir.file("r.json");
    const auto r = test::run_ptl("evaluate " + args + " --json " + js);
    INFO(r.out);
    REQUIRE(r.rc == 0);
    const Json j = read_json(js);
    return std::vector<double>{j.find("mAP")->number, j.find("Rank-1")->number,
                               j.find("mINP")->number};
  };
  CHECK(figures("--features " + f) == figures("--features " + d));
  const auto rr_f = figures("--features " + f + " --rerank"),
             rr_d = figures("--features " + d + " --rerank");
  for (int k = 0; k < 3; ++k)
    CHECK(rr_f[k] == Approx(rr_d[k]).margin(1e-3));  // weights: double vs GEMM distances
  CHECK_THAT(test::run_ptl("evaluate --features " + d + " --rerank --k1 5 --k2 1").out,
             Contains("re-ranked"));
}

TEST_CASE("ptl evaluate: bad input fails with a message naming the tensor", "[reid][cli]") {
  ptl::test::TempDir dir;
  auto expect_error = [&](TensorMap m, const std::string& extra, const std::string& msg) {
    const std::string f = dir.file("bad.safetensors");
    save_safetensors(f, m);
    const auto r = test::run_ptl("evaluate --features " + f + " " + extra);
    INFO(r.out);
    CHECK(r.rc == 1);
    CHECK_THAT(r.out, Contains(msg));
  };
  const TensorMap good = feature_set(6, 20, 4, 3);
  {
    TensorMap m = good;
    m["query_features"] = good.at("query_features").clone();  // a copy: Tensor copies share data
    m["query_features"].data<float>()[5] = std::nanf("");
    expect_error(m, "", "query_features[1, 1] is NaN");
  }
  {
    TensorMap m = good;
    m["gallery_pids"] = i64(std::vector<int64_t>(19, 1));
    expect_error(m, "", "gallery_pids has 19 entries but gallery_features (rows) has 20");
  }
  {
    TensorMap m = good;
    m["query_features"] = Tensor::empty({0, 4});
    m["query_pids"] = i64({});
    m["query_camids"] = i64({});
    expect_error(m, "", "the query set is empty");
  }
  {
    TensorMap m = good;
    m.erase("query_features");
    m.erase("gallery_features");
    m["distmat"] = f32(std::vector<float>(6 * 19, 1.0f), {6, 19});
    expect_error(m, "", "distmat has shape (6, 19), expected (6, 20)");
    expect_error(m, "--rerank", "distmat has shape");
  }
  {
    TensorMap m = good;
    m.erase("query_camids");
    expect_error(m, "", "missing tensor 'query_camids'");
  }
  {
    TensorMap m = good;
    m["query_pids"] = f32(std::vector<float>(6, 1.0f), {6});
    expect_error(m, "", "tensor 'query_pids' has dtype float32");
  }
  expect_error(good, "--metric manhattan", "unknown metric 'manhattan'");
  expect_error(good, "--rerank --rerank-memory-gb 0.0001", "above the limit of");
}

TEST_CASE("ptl visrank writes one picture per query with green and red borders", "[reid][cli]") {
  ptl::test::TempDir dir;
  const int64_t Q = 3, G = 12;
  TensorMap m = feature_set(Q, G, 4, 4);
  const std::string f = dir.file("feat.safetensors");
  save_safetensors(f, m);
  // One flat-grey image per row, so the picture's borders are easy to find.
  std::ofstream ql(dir.file("q.txt")), gl(dir.file("g.txt"));
  for (int64_t i = 0; i < Q + G; ++i) {
    const std::string name = "img" + std::to_string(i) + ".png";
    std::vector<uint8_t> px(16 * 8 * 3, 128);
    data::write_png(dir.file(name), 8, 16, 3, px.data());
    (i < Q ? ql : gl) << name << "\n";
  }
  ql.close();
  gl.close();
  const auto r = test::run_ptl("visrank --features " + f + " --query-images " + dir.file("q.txt") +
                               " --gallery-images " + dir.file("g.txt") + " --root " + dir.path() +
                               " --out " + dir.file("vis") + " --topk 5");
  INFO(r.out);
  REQUIRE(r.rc == 0);
  CHECK_THAT(r.out, Contains("wrote 3 pictures"));
  const data::Image im = data::load_image(dir.file("vis/000000_img0.png"));
  CHECK(im.w == 128 + 90 + 5 * (128 + 10));
  // Query 0 (person 0, camera 0): the colour of each border is right for its gallery image.
  EvalInputs in = load_eval_inputs(f);
  auto dist = make_distance_source(in, EvalConfig{});
  std::vector<float> row(G);
  dist->fill_rows(0, 1, row.data());
  const auto top = top_ranked(row.data(), G, in.query.pids[0], in.query.camids[0], in.gallery, 5);
  for (size_t k = 0; k < top.size(); ++k) {
    const uint8_t* p = im.at(100, 128 + 90 + int(k) * 138 + 1);
    const bool match = in.gallery.pids[top[k]] == in.query.pids[0];
    CHECK(int(p[match ? 1 : 0]) >= 200);
    CHECK(int(p[match ? 0 : 1]) == 0);
  }
  // Under the query its person and camera ids; under each gallery image its rank and distance.
  const auto centred = [&](int x, int line, const std::string& s) {
    return test::shows_text(im, x + 64 - Canvas::text_width(s, 2) / 2, 256 + 5 + 22 * line, s, 2);
  };
  CHECK(centred(0, 0, "query"));
  CHECK(centred(0, 1, "id " + std::to_string(in.query.pids[0])));
  CHECK(centred(0, 2, "camid " + std::to_string(in.query.camids[0])));
  for (size_t k = 0; k < top.size(); ++k) {
    char rank[48];
    std::snprintf(rank, sizeof rank, "%zu: %.4g", k + 1, double(row[size_t(top[k])]));
    CHECK(centred(128 + 90 + int(k) * 138, 0, rank));
    CHECK(centred(128 + 90 + int(k) * 138, 1, "id " + std::to_string(in.gallery.pids[top[k]])));
  }
  const auto one = test::run_ptl(
      "visrank --features " + f + " --query-images " + dir.file("q.txt") + " --gallery-images " +
      dir.file("g.txt") + " --root " + dir.path() + " --out " + dir.file("vis1") + " --query 1");
  CHECK_THAT(one.out, Contains("wrote 1 picture to"));
  // A bad option names itself.
  const auto zero = test::run_ptl(
      "visrank --features " + f + " --query-images " + dir.file("q.txt") + " --gallery-images " +
      dir.file("g.txt") + " --root " + dir.path() + " --out " + dir.file("vis0") + " --topk 0");
  CHECK(zero.rc != 0);
  CHECK_THAT(zero.out, Contains("--topk must be at least 1, got 0"));
}

TEST_CASE("ptl visrank draws the images extraction recorded and refuses a list out of row order",
          "[reid][cli]") {
  ptl::test::TempDir dir;
  const int64_t Q = 2, G = 10;
  const TensorMap m = feature_set(Q, G, 4, 5);
  // Market-style names carrying each row's person id (feature_set: row i is person i % 8).
  std::vector<std::string> q_paths, g_paths;
  for (int64_t i = 0; i < Q + G; ++i) {
    const int64_t row = i < Q ? i : i - Q;
    const std::string path = dir.file(str(i < Q ? "q" : "g", "/000", row % 8, "_c",
                                          1 + (row + (i >= Q)) % 2, "s1_", row, ".png"));
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    std::vector<uint8_t> px(16 * 8 * 3, 128);
    data::write_png(path, 8, 16, 3, px.data());
    (i < Q ? q_paths : g_paths).push_back(path);
  }
  const std::string f = dir.file("feat.safetensors");
  save_safetensors(
      f, m, {{"query_paths", path_list_json(q_paths)}, {"gallery_paths", path_list_json(g_paths)}});
  const auto ok =
      test::run_ptl("visrank --features " + f + " --out " + dir.file("vis") + " --topk 3");
  INFO(ok.out);
  CHECK(ok.rc == 0);
  CHECK_THAT(ok.out, Contains("wrote 2 pictures"));
  CHECK(std::filesystem::exists(dir.file("vis/000000_0000_c1s1_0.png")));

  // The gallery list shuffled (rows 0 and 1 swapped: persons 0 and 1) is refused.
  std::ofstream gl(dir.file("g.txt"));
  for (size_t i = 0; i < g_paths.size(); ++i) gl << g_paths[i < 2 ? 1 - i : i] << "\n";
  gl.close();
  const auto shuffled = test::run_ptl("visrank --features " + f + " --gallery-images " +
                                      dir.file("g.txt") + " --out " + dir.file("vis2"));
  CHECK(shuffled.rc != 0);
  CHECK_THAT(shuffled.out, Contains("g.txt line 1") &&
                               Contains("is person 1 but feature row 0 is person 0") &&
                               Contains("not in the features' row order"));

  // Features without recorded paths need the lists.
  const std::string bare = dir.file("bare.safetensors");
  save_safetensors(bare, m);
  const auto none = test::run_ptl("visrank --features " + bare + " --out " + dir.file("vis3"));
  CHECK(none.rc != 0);
  CHECK_THAT(none.out, Contains("records no image paths") && Contains("--query-images"));
}
