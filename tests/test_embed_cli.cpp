// `ptl embed` and `ptl search` as a user runs them: features of a folder or list file that equal
// `ptl extract`'s bit for bit, the stored paths and their order, data.on_bad_image, an empty
// folder, and a search that finds an image's own feature first and draws the picture.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstring>
#include <filesystem>

#include "data/file_util.h"
#include "data/image_encode.h"
#include "engine/ops.h"
#include "engine/safetensors.h"
#include "evaluation/reid_eval.h"
#include "tests/test_util.h"
#include "tests/tiny_run.h"
#include "train/experiment.h"

namespace fs = std::filesystem;
using Catch::Matchers::Contains;

namespace {
using namespace ptl;

// The tiny synthetic set's config (PTL-ResNet-20 with BConv-Cells, so the rows also depend on
// the evaluation random stream) and seeded weights, written once into `dir`.
struct Model {
  std::string config, weights;
};
const Model& tiny_model() {
  static test::TempDir dir;
  static const Model m = [] {
    Config cfg = test::tiny_run_config(dir.path() + "/run", 1);
    cfg.set("data.batch_size", "8");  // several batches over the query images
    Model out{dir.file("config.yaml"), dir.file("weights.safetensors")};
    data::write_file(out.config, cfg.to_yaml());
    Experiment e(cfg);
    save_safetensors(out.weights, e.model().state_dict());
    return out;
  }();
  return m;
}

std::vector<std::string> sorted_files(const std::string& dir) {
  std::vector<std::string> v;
  for (const auto& e : fs::directory_iterator(dir)) v.push_back(e.path().string());
  std::sort(v.begin(), v.end());
  return v;
}

std::string embed_args(const std::string& images, const std::string& out) {
  return "embed --config " + tiny_model().config + " --weights " + tiny_model().weights +
         " --images " + images + " --out " + out;
}

// The bytes of a float32 tensor of a file.
std::string bytes_of(const std::string& file, const std::string& name) {
  const Tensor t = load_safetensors(file).at(name);
  return std::string(static_cast<const char*>(t.raw_data()), size_t(t.numel()) * sizeof(float));
}

// The first ranked line of `ptl search`'s output ("   1  <distance>  <path>").
std::string first_ranked(const std::string& out) {
  const auto at = out.find("\n   1  ");
  return at == std::string::npos ? "" : out.substr(at + 1, out.find('\n', at + 1) - at - 1);
}

std::vector<std::string> paths_of(const std::string& file, const std::string& key, size_t n) {
  return read_path_list(load_safetensors_metadata(file), key, n, file);
}
}  // namespace

TEST_CASE("ptl embed writes the features ptl extract computes, bit for bit, with and without flip",
          "[embed][cli]") {
  test::TempDir dir;
  const std::string query = test::tiny_reid_root() + "/query";
  const std::vector<std::string> files = sorted_files(query);
  for (const bool flip : {false, true}) {
    const std::string x = dir.file("x.safetensors"), e = dir.file("e.safetensors");
    const auto rx = test::run_ptl("extract --config " + tiny_model().config + " --weights " +
                                  tiny_model().weights + " --out " + x +
                                  (flip ? " eval.flip=true" : " eval.flip=false"));
    INFO(rx.out);
    REQUIRE(rx.rc == 0);
    // data.root is not read: a deployment has the images, not the training set.
    const auto re =
        test::run_ptl(embed_args(query, e) + (flip ? " --flip" : "") + " data.root=/nonexistent");
    INFO(re.out);
    REQUIRE(re.rc == 0);
    CHECK_THAT(re.out, Contains(str("wrote ", e, ": ", files.size(), " features of dimension 64")));
    CHECK_THAT(re.out, Contains("images/s"));
    CHECK(bytes_of(e, "features") == bytes_of(x, "query_features"));
    CHECK(paths_of(e, "paths", files.size()) == files);
    const auto meta = load_safetensors_metadata(e);
    CHECK(meta.at("flip") == (flip ? "true" : "false"));
    CHECK(meta.at("model") == "ptl_resnet20");
    CHECK(meta.at("weights") == tiny_model().weights);
    CHECK(meta.at("skipped") == "0");
  }
}

TEST_CASE("ptl embed reads a folder recursively in path order and a list file in its order",
          "[embed][cli]") {
  test::TempDir dir;
  const std::vector<std::string> files = sorted_files(test::tiny_reid_root() + "/query");
  // images/: b.jpg, a/2.jpg, a/1.JPG, a/deep/er/3.png, and files that are not images.
  const std::string root = dir.file("images");
  fs::create_directories(root + "/a/deep/er");
  fs::create_directories(root + "/empty");
  fs::copy_file(files[0], root + "/b.jpg");
  fs::copy_file(files[1], root + "/a/2.jpg");
  fs::copy_file(files[2], root + "/a/1.JPG");
  const std::vector<uint8_t> px(16 * 32 * 3, 128);
  data::write_png(root + "/a/deep/er/3.png", 16, 32, 3, px.data());
  data::write_file(root + "/a/notes.txt", "not an image");
  const std::string out = dir.file("new/folder/f.safetensors");  // made when the run is done
  const auto r = test::run_ptl(embed_args(root, out));
  INFO(r.out);
  REQUIRE(r.rc == 0);
  // Byte order of the paths: "a/1.JPG" < "a/2.jpg" < "a/deep/er/3.png" < "b.jpg".
  CHECK(paths_of(out, "paths", 4) == std::vector<std::string>{root + "/a/1.JPG", root + "/a/2.jpg",
                                                              root + "/a/deep/er/3.png",
                                                              root + "/b.jpg"});

  // A list: relative to its folder, absolute, a comment, a blank line, CRLF; its own order.
  const std::string list = root + "/a/list.txt";
  data::write_file(list, "# the gallery\r\ndeep/er/3.png\r\n\n" + root + "/b.jpg\n2.jpg\n");
  const std::string listed = dir.file("l.safetensors");
  const auto rl = test::run_ptl(embed_args(list, listed));
  INFO(rl.out);
  REQUIRE(rl.rc == 0);
  CHECK(paths_of(listed, "paths", 3) ==
        std::vector<std::string>{root + "/a/deep/er/3.png", root + "/b.jpg", root + "/a/2.jpg"});

  // The query files in a list, in the folder's order: the folder's features exactly.
  std::string lines;
  for (const std::string& f : files) lines += f + "\n";
  data::write_file(dir.file("query.txt"), lines);
  const std::string a = dir.file("a.safetensors"), b = dir.file("b.safetensors");
  REQUIRE(test::run_ptl(embed_args(test::tiny_reid_root() + "/query", a)).rc == 0);
  REQUIRE(test::run_ptl(embed_args(dir.file("query.txt"), b)).rc == 0);
  CHECK(bytes_of(a, "features") == bytes_of(b, "features"));
}

TEST_CASE("ptl embed follows data.on_bad_image and refuses an empty folder", "[embed][cli]") {
  test::TempDir dir;
  const std::string root = dir.file("images");
  fs::create_directories(root);
  const std::vector<std::string> files = sorted_files(test::tiny_reid_root() + "/query");
  for (size_t i = 0; i < 5; ++i)
    fs::copy_file(files[i], root + "/" + fs::path(files[i]).filename().string());
  const std::string bad = root + "/" + fs::path(files[2]).filename().string();
  fs::resize_file(bad, 40);  // cut in its header
  const std::string out = dir.file("f.safetensors");

  const auto stop = test::run_ptl(embed_args(root, out));
  CHECK(stop.rc != 0);
  CHECK_THAT(stop.out, Contains(bad) && Contains("data.on_bad_image=skip"));
  CHECK_FALSE(fs::exists(out));

  const auto skip = test::run_ptl(embed_args(root, out) + " data.on_bad_image=skip");
  INFO(skip.out);
  REQUIRE(skip.rc == 0);
  CHECK_THAT(skip.out, Contains("skipped 1 unreadable image, the first: " + bad));
  CHECK_THAT(skip.out, Contains("4 features"));
  const auto meta = load_safetensors_metadata(out);
  CHECK(meta.at("skipped") == "1");
  CHECK(paths_of(out, "skipped_paths", 1) == std::vector<std::string>{bad});
  const auto paths = paths_of(out, "paths", 4);
  CHECK(std::find(paths.begin(), paths.end(), bad) == paths.end());

  // A folder without images (an empty sub-folder and a text file): one line naming it.
  const std::string empty = dir.file("empty");
  fs::create_directories(empty + "/sub");
  data::write_file(empty + "/readme.txt", "no images here");
  const std::string none = dir.file("none.safetensors");
  const auto e = test::run_ptl(embed_args(empty, none));
  CHECK(e.rc != 0);
  CHECK_THAT(e.out, Contains(empty + ": no images (.jpg .jpeg .png .bmp) in the folder"));
  CHECK(std::count(e.out.begin(), e.out.end(), '\n') == 1);
  CHECK_FALSE(fs::exists(none));
  const auto missing = test::run_ptl(embed_args(dir.file("nowhere"), none));
  CHECK(missing.rc != 0);
  CHECK_THAT(missing.out, Contains(dir.file("nowhere") + ": no such folder or file"));
}

TEST_CASE("ptl search ranks an image's own feature first and draws the picture", "[embed][cli]") {
  test::TempDir dir;
  const std::string query = test::tiny_reid_root() + "/query";
  const std::vector<std::string> files = sorted_files(query);
  const std::string g = dir.file("g.safetensors");
  REQUIRE(test::run_ptl(embed_args(query, g) + " --flip").rc == 0);

  // An image: embedded with the configuration, weights and flip the gallery records.
  const auto r = test::run_ptl("search --gallery " + g + " --query " + files[3] +
                               " --topk 4 --out " + dir.file("vis"));
  INFO(r.out);
  REQUIRE(r.rc == 0);
  CHECK_THAT(r.out, Contains(str("query ", files[3], ": the 4 nearest of ", files.size(),
                                 " gallery images")));
  const std::string line = first_ranked(r.out);
  CHECK_THAT(line, Contains(files[3]));
  REQUIRE(line.size() > 6);
  CHECK(std::stod(line.substr(6)) < 1e-3);  // the same bits give 0 up to the GEMM's rounding
  CHECK_THAT(r.out, Contains("\n   4  "));
  CHECK_THAT(r.out, !Contains("\n   5  "));
  const std::string picture =
      dir.file("vis") + "/000000_" + fs::path(files[3]).stem().string() + ".png";
  CHECK_THAT(r.out, Contains("picture " + picture));
  CHECK(test::file_text(picture).substr(1, 3) == "PNG");

  // The same with --config and --weights given.
  const auto rc =
      test::run_ptl("search --gallery " + g + " --query " + files[3] + " --config " +
                    tiny_model().config + " --weights " + tiny_model().weights + " --topk 1");
  CHECK(first_ranked(rc.out) == line);

  // A features file: every query row finds its own image first.
  const auto rq = test::run_ptl("search --gallery " + g + " --query " + g + " --topk 1");
  INFO(rq.out);
  REQUIRE(rq.rc == 0);
  for (const std::string& f : files) CHECK_THAT(rq.out, Contains("query " + f + ": "));
  CHECK(std::count(rq.out.begin(), rq.out.end(), '\n') == 2 * int64_t(files.size()));
  for (size_t i = 0; i < files.size(); ++i) {
    const auto at = rq.out.find("query " + files[i] + ": ");
    const auto row = rq.out.find('\n', at) + 1;
    CHECK(rq.out.substr(row, rq.out.find('\n', row) - row).find(files[i]) != std::string::npos);
  }

  const auto both = test::run_ptl("search --gallery " + g + " --query " + g + " --weights " +
                                  tiny_model().weights);
  CHECK(both.rc != 0);
  CHECK_THAT(both.out, Contains(g + " holds features already"));

  // Features of another size: both files and sizes named.
  const std::string other = dir.file("other.safetensors");
  save_safetensors(other, {{"features", zeros({1, 5})}}, {{"paths", path_list_json({"x.jpg"})}});
  const auto mismatch = test::run_ptl("search --gallery " + g + " --query " + other);
  CHECK(mismatch.rc != 0);
  CHECK_THAT(mismatch.out, Contains("the query " + other +
                                    " has features of size 5 but the "
                                    "gallery " +
                                    g + " has 64"));
}
