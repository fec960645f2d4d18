// ReID dataset layouts on tiny fake trees: counts, relabelling, junk and distractors, and every
// bad-input case with errors naming the file (or counted warnings under Skip).
#include <catch2/catch.hpp>

#include "data/reid_datasets.h"
#include "data_test_util.h"
#include "test_util.h"

using namespace ptl::data;
using ptl::test::put_jpeg;
using ptl::test::put_text;

namespace {
// A Market-1501 tree: train ids 15, 2, 7 (+ junk), query ids 3, 4, gallery 3, 4, 0 and junk.
void market_tree(const std::string& root) {
  for (const char* f :
       {"0002_c1s1_000451_03.jpg", "0002_c3s1_000551_01.jpg", "0007_c2s2_010101_02.jpg",
        "0015_c6s4_002202_01.jpg", "-1_c1s1_000001_01.jpg"})
    put_jpeg(root + "/bounding_box_train/" + f);
  put_text(root + "/bounding_box_train/Thumbs.db", "not an image, not listed");
  for (const char* f : {"0003_c1s1_000100_00.jpg", "0004_c2s1_000200_00.jpg"})
    put_jpeg(root + "/query/" + f);
  for (const char* f :
       {"0003_c2s1_000300_01.jpg", "0003_c1s1_000100_02.jpg", "0004_c5s1_000400_01.jpg",
        "0000_c4s1_000500_01.jpg", "-1_c3s1_000600_01.jpg"})
    put_jpeg(root + "/bounding_box_test/" + f);
}

std::string error_of(ReidFormat f, const std::string& root) {
  BadInput bad;
  try {
    load_reid(f, root, bad);
  } catch (const ptl::Error& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST_CASE("Market-1501 names parse like ([-\\d]+)_c(\\d)", "[data]") {
  int64_t pid = 0, cam = 0;
  REQUIRE(parse_market_name("0002_c1s1_000451_03.jpg", pid, cam));
  CHECK(pid == 2);
  CHECK(cam == 1);
  REQUIRE(parse_market_name("-1_c3s2_000001_01.jpg", pid, cam));
  CHECK(pid == -1);
  REQUIRE(parse_market_name("0001_c2_01.png", pid, cam));  // CUHK03-NP style
  CHECK(cam == 2);
  CHECK_FALSE(parse_market_name("0002c1s1_000451_03.jpg", pid, cam));
  CHECK_FALSE(parse_market_name("abc_c1.jpg", pid, cam));
  CHECK_FALSE(parse_market_name("1-2_c1.jpg", pid, cam));
}

TEST_CASE("Market-1501: counts, relabelling, junk and distractors", "[data]") {
  ptl::test::TempDir dir;
  const std::string root = dir.path() + "/Market-1501-v15.09.15";
  market_tree(root);
  BadInput bad;
  const ReidDataset ds =
      load_reid(ReidFormat::Market1501, dir.path(), bad);  // finds the sub-folder
  CHECK(ds.root == root);
  REQUIRE(ds.train.size() == 4);  // junk and Thumbs.db left out
  CHECK(ds.train_raw_ids == std::vector<int64_t>{2, 7, 15});
  CHECK(ds.train[0].pid == 0);
  CHECK(ds.train[1].pid == 0);
  CHECK(ds.train[2].pid == 1);
  CHECK(ds.train[3].pid == 2);
  CHECK(ds.train[3].camid == 5);  // c6 -> 5
  REQUIRE(ds.query.size() == 2);
  CHECK(ds.query[0].pid == 3);      // raw ids
  REQUIRE(ds.gallery.size() == 4);  // junk dropped, distractor kept
  CHECK(ds.gallery[0].pid == 0);
  const SplitStats g = split_stats(ds.gallery);
  CHECK(g.ids == 3);
  CHECK(g.cameras == 4);
  CHECK(bad.count() == 0);
}

TEST_CASE("Market-style bad inputs: missing folder, empty split, bad names", "[data]") {
  ptl::test::TempDir dir;
  const std::string root = dir.path();
  CHECK_THAT(error_of(ReidFormat::Market1501, root + "/nowhere"),
             Catch::Contains("missing folder") && Catch::Contains("bounding_box_train"));
  market_tree(root);
  std::filesystem::remove_all(root + "/query");
  std::filesystem::create_directories(root + "/query");
  CHECK_THAT(error_of(ReidFormat::Market1501, root),
             Catch::Contains(root + "/query") && Catch::Contains("empty split"));
  put_jpeg(root + "/query/0003_c1s1_000100_00.jpg");
  put_jpeg(root + "/bounding_box_test/img_0003.jpg");
  put_jpeg(root + "/bounding_box_test/0003_c0s1_000100_00.jpg");
  CHECK_THAT(error_of(ReidFormat::Market1501, root),
             Catch::Contains("bounding_box_test/0003_c0s1_000100_00.jpg"));
  BadInput skip(OnBad::Skip);
  const ReidDataset ds = load_reid(ReidFormat::Market1501, root, skip);
  CHECK(skip.count() == 2);
  CHECK(ds.gallery.size() == 4);
  CHECK_THAT(skip.messages()[1],
             Catch::Contains("img_0003.jpg") && Catch::Contains("does not match"));
}

TEST_CASE("DukeMTMC-reID and CUHK03 (NP folders and torchreid json)", "[data]") {
  ptl::test::TempDir dir;
  market_tree(dir.path() + "/DukeMTMC-reID");
  put_jpeg(dir.path() + "/DukeMTMC-reID/query/0004_c8_f0012345.jpg");
  BadInput bad;
  const ReidDataset duke = load_reid(ReidFormat::DukeMTMC, dir.path(), bad);
  CHECK(duke.query.size() == 3);
  CHECK(duke.query[2].camid == 7);

  market_tree(dir.path() + "/cuhk03-np/labeled");
  CHECK(load_reid(ReidFormat::CUHK03Labeled, dir.path(), bad).train.size() == 4);
  CHECK_THAT(error_of(ReidFormat::CUHK03Detected, dir.path()), Catch::Contains("missing folder"));

  const std::string c = dir.path() + "/tr";
  for (const char* f :
       {"1_001_1_01.png", "1_001_2_06.png", "1_002_1_01.png", "2_010_1_01.png", "2_010_2_07.png"})
    put_jpeg(c + "/images_detected/" + f);
  put_text(c + "/splits_new_detected.json",
           R"([{"train": [["/home/u/cuhk03/images_detected/1_001_1_01.png", 0, 0],
                          ["/home/u/cuhk03/images_detected/1_001_2_06.png", 0, 1],
                          ["/x/1_002_1_01.png", 1, 0]],
                "query": [["/x/2_010_1_01.png", 1467, 0]],
                "gallery": [["/x/2_010_2_07.png", 1467, 1]],
                "num_train_pids": 2}])");
  const ReidDataset cu = load_reid(ReidFormat::CUHK03Detected, c, bad);
  REQUIRE(cu.train.size() == 3);
  CHECK(cu.train[0].path == c + "/images_detected/1_001_1_01.png");
  CHECK(cu.train[2].pid == 1);
  CHECK(cu.train_raw_ids == std::vector<int64_t>{0, 1});  // 0 is an ordinary id here
  CHECK(cu.query[0].pid == 1467);
  CHECK(cu.gallery[0].camid == 1);

  // Ids that a cast to int64 would get wrong: a fraction, and 1e300 (undefined behaviour)
  for (const char* bad_id : {"1.5", "1e300"}) {
    put_text(c + "/splits_new_detected.json", std::string(R"([{"train": [["/x/1_002_1_01.png", )") +
                                                  bad_id +
                                                  R"(, 0]], "query": [], "gallery": []}])");
    CHECK_THAT(
        error_of(ReidFormat::CUHK03Detected, c),
        Catch::Contains("train[0] has pid") && Catch::Contains("which is not a whole number"));
  }
}

TEST_CASE("MSMT17 list files: cameras, val merge, bad lines", "[data]") {
  ptl::test::TempDir dir;
  const std::string r = dir.path() + "/MSMT17_V1";
  put_text(r + "/list_train.txt",
           "0000/0000_000_01_0303morning_0015_0.jpg 0\n0000/0000_001_14_0303morning_0016_1.jpg 0\n"
           "0001/0001_000_05_0303noon_0100_0.jpg 1\n");
  put_text(r + "/list_val.txt", "0002/0002_003_07_0303noon_0200_0.jpg 2\r\n");
  put_text(r + "/list_query.txt", "0000/0000_000_15_0113morning_0001_0.jpg 0\n\n");
  put_text(r + "/list_gallery.txt",
           "0000/0000_001_02_0113morning_0002_0.jpg 0\n0005/0005_003_03_0113noon_0009_0.jpg 5\n");
  std::filesystem::create_directories(r + "/train");
  std::filesystem::create_directories(r + "/test");
  BadInput bad;
  ReidOptions train_val;
  train_val.msmt17_train_val = true;
  ReidDataset ds = load_reid(ReidFormat::MSMT17, dir.path(), bad, train_val);
  REQUIRE(ds.train.size() == 4);
  CHECK(ds.train[0].camid == 0);
  CHECK(ds.train[1].camid == 13);
  CHECK(ds.train[0].path == r + "/train/0000/0000_000_01_0303morning_0015_0.jpg");
  CHECK(ds.train_raw_ids == std::vector<int64_t>{0, 1, 2});
  CHECK(ds.query[0].camid == 14);
  CHECK(ds.query[0].path == r + "/test/0000/0000_000_15_0113morning_0001_0.jpg");
  CHECK(ds.gallery.size() == 2);
  // The default is list_train alone (torchreid's and fast-reid's).
  CHECK(load_reid(ReidFormat::MSMT17, dir.path(), bad).train.size() == 3);

  put_text(r + "/list_gallery.txt",
           "0000/0000_001_02_0113morning_0002_0.jpg 0\n0005/badname.jpg 5\nx.jpg\n");
  CHECK_THAT(error_of(ReidFormat::MSMT17, dir.path()), Catch::Contains("list_gallery.txt:2:"));
  BadInput skip(OnBad::Skip);
  CHECK(load_reid(ReidFormat::MSMT17, dir.path(), skip).gallery.size() == 1);
  CHECK(skip.count() == 2);
  CHECK_THAT(skip.messages()[1], Catch::Contains("list_gallery.txt:3:"));
  std::filesystem::remove_all(r + "/test");
  CHECK_THAT(error_of(ReidFormat::MSMT17, dir.path()),
             Catch::Contains("missing folder") && Catch::Contains("test"));
}

TEST_CASE("plain list files: path pid [camid]", "[data]") {
  ptl::test::TempDir dir;
  const std::string r = dir.path();
  put_text(r + "/train.txt",
           "# my data\nimgs/a.jpg 10 0\nimgs/b.jpg 12 1\n/abs/c.jpg 10\nimgs/j.jpg -1 0\n");
  put_text(r + "/query.txt", "q.jpg 5 0\n");
  put_text(r + "/gallery.txt", "g.jpg 5 1\nh.jpg 0 1\n");
  BadInput bad;
  const ReidDataset ds = load_reid(ReidFormat::List, r, bad);
  REQUIRE(ds.train.size() == 3);
  CHECK(ds.train[0].path == r + "/imgs/a.jpg");
  CHECK(ds.train[2].path == "/abs/c.jpg");
  CHECK(ds.train[2].camid == -1);
  CHECK(ds.train[1].pid == 1);
  CHECK(ds.gallery.size() == 2);
  put_text(r + "/query.txt", "q.jpg 5 0\nq2.jpg five 0\n");
  CHECK_THAT(error_of(ReidFormat::List, r),
             Catch::Contains(r + "/query.txt:2:") && Catch::Contains("q2.jpg five 0"));
  put_text(r + "/query.txt", "# nothing\n");
  CHECK_THAT(error_of(ReidFormat::List, r),
             Catch::Contains("query.txt") && Catch::Contains("empty split"));
  CHECK_THAT(error_of(ReidFormat::List, r + "/imgs"), Catch::Contains("imgs"));
}
