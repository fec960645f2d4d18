// The run's JSON-lines metrics after a kill: a torn last line is left out, and a resume keeps
// exactly the lines written up to its checkpoint's step.
#include <catch2/catch.hpp>

#include "data/image_encode.h"
#include "tests/test_util.h"
#include "train/run_log.h"

using namespace ptl;

TEST_CASE(
    "metrics.jsonl: a torn last line is ignored; truncate_metrics keeps steps up to the checkpoint",
    "[train]") {
  test::TempDir dir;
  const std::string path = dir.path() + "/metrics.jsonl";
  data::write_file(
      path,
      "{\"epoch\": 1, \"step\": 3, \"loss\": 1.5}\n{\"epoch\": 1, \"step\": 3, \"epoch_loss\": "
      "1.25}\n"
      "{\"epoch\": 2, \"step\": 6, \"loss\": 0.5}\n{\"epoch\": 2, \"st");  // killed mid-write
  const std::vector<Json> lines = read_json_lines(path);
  REQUIRE(lines.size() == 3);
  CHECK(lines[2].find("loss")->number == 0.5);

  truncate_metrics(dir.path(), 3);
  const std::vector<Json> kept = read_json_lines(path);
  REQUIRE(kept.size() == 2);
  CHECK(kept[1].find("epoch_loss")->number == 1.25);
  CHECK_THROWS_WITH(read_json_lines(dir.path() + "/none.jsonl"),
                    Catch::Contains("none.jsonl: cannot open"));
}
