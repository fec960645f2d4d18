// `ptl synth-reid` and `ptl dataset` end to end through the binary.
#include <catch2/catch.hpp>

#include "data/file_util.h"
#include "data/image_encode.h"
#include "engine/json.h"
#include "test_util.h"
#include "tests/skip.h"

namespace {
// Runs the ptl binary; returns the exit code and fills stdout / stderr.
int ptl_run(const std::string& args, std::string& out, std::string& err) {
  const ptl::test::CliRun r = ptl::test::run_ptl_env("", args, true);
  out = r.out;
  err = r.err;
  return r.rc;
}
}  // namespace

TEST_CASE("ptl synth-reid + ptl dataset --json", "[data][cli]") {
  ptl::test::TempDir dir;
  const std::string d = dir.path() + "/synth";
  std::string out, err;
  REQUIRE(ptl_run("synth-reid --out " + d + " --ids 6 --seed 2 --domain target --size 64x32", out,
                  err) == 0);
  CHECK_THAT(out, Catch::Contains("8 cameras"));
  REQUIRE(ptl_run("dataset --format market1501 --root " + d + " --json", out, err) == 0);
  const ptl::Json j = ptl::Json::parse(out, "dataset --json");
  const ptl::Json* train = j.find("train");
  REQUIRE(train);
  CHECK(train->find("ids")->number == 3);
  CHECK(j.find("query")->find("ids")->number == 3);
  CHECK(j.find("gallery")->find("images")->number > 0);
  CHECK(j.find("gallery")->find("cameras")->number <= 8);

  // A corrupt gallery image: an error naming it with --check, a counted warning with skip.
  ptl::data::write_file(d + "/bounding_box_test/0004_c1s1_999999_01.jpg", "\xff\xd8\xff garbage");
  CHECK(ptl_run("dataset --format market1501 --root " + d + " --check", out, err) == 1);
  CHECK_THAT(err, Catch::Contains("0004_c1s1_999999_01.jpg"));
  REQUIRE(ptl_run("dataset --format market1501 --root " + d + " --check --on-bad-image skip --json",
                  out, err) == 0);
  CHECK_THAT(err, Catch::Contains("1 bad inputs skipped"));
  CHECK(ptl::Json::parse(out, "json").find("gallery")->find("images")->number ==
        j.find("gallery")->find("images")->number);

  CHECK(ptl_run("dataset --format nope --root " + d, out, err) == 1);
  CHECK_THAT(err, Catch::Contains("unknown --format"));
  CHECK(ptl_run("synth-reid --out " + d + "2 --size 64by32", out, err) == 1);
  CHECK_THAT(err, Catch::Contains("--size"));
}

TEST_CASE("ptl dataset on Fashion-MNIST", "[data][cli][fashion_mnist]") {
  if (!ptl::data::is_dir("/usr/share/datasets/fashion-mnist"))
    PTL_SKIP("dataset-fashion-mnist is not installed");
  std::string out, err;
  REQUIRE(ptl_run("dataset --format fashion-mnist --root /usr/share/datasets/fashion-mnist --json",
                  out, err) == 0);
  CHECK_THAT(out, Catch::Equals("{\"train\": {\"images\": 60000, \"classes\": 10}, "
                                "\"test\": {\"images\": 10000, \"classes\": 10}}\n"));
}
