// What a run trains and evaluates on, from the config's data.* keys (train/task_data.h).
#include <catch2/catch.hpp>

#include <cstdio>

#include "tests/data_test_util.h"
#include "tests/test_util.h"
#include "train/task_data.h"

using namespace ptl;

namespace {
// A folder-per-class dataset with `n` images of each of 2 classes in each named split
// (an empty split name: classes at the root, a flat folder).
void folder_split(const std::string& root, const std::string& split, int n) {
  for (const char* cls : {"cat", "dog"})
    for (int i = 0; i < n; ++i)
      test::put_jpeg(
          root + (split.empty() ? "" : "/" + split) + "/" + cls + "/" + std::to_string(i) + ".jpg",
          i);
}

TaskData folder_task(const std::string& root) {
  Config c;
  c.apply_override("data.format=folder");
  c.set("data.root", root);
  return load_task_data(read_settings(c).data);
}
}  // namespace

TEST_CASE("folder classification evaluates on val/, holds test/ out, and refuses a flat folder",
          "[data][train]") {
  test::TempDir dir;
  const std::string all = dir.path() + "/all";
  folder_split(all, "train", 3);
  folder_split(all, "val", 2);
  folder_split(all, "test", 1);
  TaskData d = folder_task(all);
  CHECK(d.eval_split == "val");
  CHECK(d.test->size() == 4);
  REQUIRE(d.held_out_test);
  CHECK(d.held_out_test->size() == 2);
  CHECK(d.train->size() == 6);

  const std::string two = dir.path() + "/two";
  folder_split(two, "train", 3);
  folder_split(two, "test", 1);
  d = folder_task(two);
  CHECK(d.eval_split == "test");
  CHECK(d.test->size() == 2);
  CHECK_FALSE(d.held_out_test);

  const std::string flat = dir.path() + "/flat";
  folder_split(flat, "", 3);
  CHECK_THROWS_WITH(folder_task(flat),
                    Catch::Contains("only training images") && Catch::Contains("val/<class>/"));
}

TEST_CASE("MSMT17 trains on list_train alone unless data.msmt17_train_val adds list_val",
          "[data][train]") {
  // A tiny MSMT17 V1 folder: identities 0-2 in list_train (5 images), 3 in list_val (2), and a
  // query and gallery image each.
  test::TempDir dir;
  const std::string r = dir.path() + "/MSMT17_V1";
  auto images = [&](const std::string& folder, const std::vector<std::pair<int, int>>& items) {
    std::string lines;
    for (const auto& [pid, n] : items)
      for (int j = 0; j < n; ++j) {
        char rel[64];
        std::snprintf(rel, sizeof rel, "%04d/%04d_%03d_%02d_0303morning_0001_0.jpg", pid, pid, j,
                      1 + j % 3);
        test::put_jpeg(r + "/" + folder + "/" + rel, pid * 10 + j);
        lines += std::string(rel) + " " + std::to_string(pid) + "\n";
      }
    return lines;
  };
  test::put_text(r + "/list_train.txt", images("train", {{0, 2}, {1, 2}, {2, 1}}));
  const std::string val = images("train", {{3, 2}});
  test::put_text(r + "/list_query.txt", images("test", {{7, 1}}));
  test::put_text(r + "/list_gallery.txt", images("test", {{8, 1}}));
  auto task = [&](bool train_val) {
    Config c;
    c.apply_override("data.format=msmt17");
    c.set("data.root", dir.path());
    if (train_val) c.apply_override("data.msmt17_train_val=true");
    return load_task_data(read_settings(c).data);
  };
  TaskData d = task(false);
  CHECK(d.train->size() == 5);
  CHECK(d.num_classes == 3);
  CHECK_THROWS_WITH(task(true), Catch::Contains("list_val.txt"));  // asked for, missing
  test::put_text(r + "/list_val.txt", val);
  CHECK(task(false).train->size() == 5);
  d = task(true);
  CHECK(d.train->size() == 7);
  CHECK(d.num_classes == 4);
}
