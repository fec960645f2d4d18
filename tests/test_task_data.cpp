// What a run trains and evaluates on, from the config's data.* keys (train/task_data.h).
#include <catch2/catch.hpp>

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
