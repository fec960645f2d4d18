// The threaded loader: same batches for any worker count, plan order, errors naming the file,
// skipping bad images, and shutdown with batches still in flight.
#include <catch2/catch.hpp>

#include "data/loader.h"
#include "data_test_util.h"
#include "test_util.h"
#include "tests/compare.h"

using namespace ptl::data;

namespace {
// 40 in-memory 24x12 images whose pixels encode their index.
std::shared_ptr<DataSource> memory_source() {
  ClassSplit s;
  s.name = "mem";
  s.h = 24;
  s.w = 12;
  s.c = 3;
  for (int i = 0; i < 40; ++i) {
    const Image img = ptl::test::pattern_image(24, 12, i);
    s.pixels.insert(s.pixels.end(), img.px.begin(), img.px.end());
    s.labels.push_back(i % 7);
  }
  return make_source(s);
}

std::vector<Batch> run_all(std::shared_ptr<DataSource> src, const BatchPlan& plan, int workers,
                           int prefetch) {
  LoaderOptions o;
  o.workers = workers;
  o.prefetch = prefetch;
  o.seed = 77;
  Loader loader(src, Transform::strong_baseline_train(32, 16), plan, o);
  std::vector<Batch> out;
  Batch b;
  while (loader.next(b)) out.push_back(b);
  return out;
}
}  // namespace

TEST_CASE("loader batches do not depend on the worker count", "[data]") {
  auto src = memory_source();
  ptl::Generator g(3);
  const BatchPlan plan = pk_batches(src->labels(), 2, 3, g);
  REQUIRE(plan.size() >= 4);
  const auto ref = run_all(src, plan, 0, 1);
  REQUIRE(ref.size() == plan.size());
  for (size_t b = 0; b < ref.size(); ++b) {
    CHECK(ref[b].number == int64_t(b));
    CHECK(ref[b].images.shape() == ptl::Shape{6, 3, 32, 16});
    for (int j = 0; j < 6; ++j) {
      CHECK(ref[b].indices.data<int64_t>()[j] == plan[b][j]);
      CHECK(ref[b].labels.data<int64_t>()[j] == plan[b][j] % 7);
      CHECK(ref[b].camids.data<int64_t>()[j] == -1);
    }
  }
  for (auto [workers, prefetch] : {std::pair{1, 1}, {3, 2}, {4, 8}}) {
    const auto got = run_all(src, plan, workers, prefetch);
    REQUIRE(got.size() == ref.size());
    for (size_t b = 0; b < ref.size(); ++b)
      REQUIRE(got[b].images.to_vector() == ref[b].images.to_vector());
  }
}

TEST_CASE("a bf16 loader writes the float32 batch's pixels rounded to bf16", "[data][bf16]") {
  auto src = memory_source();
  const BatchPlan plan = sequential_batches(40, 16, false);
  LoaderOptions o;
  o.seed = 5;
  Loader f32(src, Transform::strong_baseline_train(32, 16), plan, o);
  o.images = ptl::DType::BF16;
  Loader bf16(src, Transform::strong_baseline_train(32, 16), plan, o);
  Batch a, b;
  while (f32.next(a)) {
    REQUIRE(bf16.next(b));
    REQUIRE(b.images.dtype() == ptl::DType::BF16);
    CHECK_SAME_BITS(b.images, a.images.to(ptl::DType::BF16));
    CHECK(b.labels.to_int_vector() == a.labels.to_int_vector());
  }
  CHECK_FALSE(bf16.next(b));
  o.images = ptl::DType::F64;
  CHECK_THROWS_WITH(Loader(src, Transform::eval(32, 16), plan, o),
                    "loader: images are float32 or bfloat16, got float64");
}

TEST_CASE("a bad image stops the loader with the file name, or is skipped and counted", "[data]") {
  ptl::test::TempDir dir;
  std::vector<ReidItem> items;
  for (int i = 0; i < 8; ++i) {
    const std::string p = dir.path() + "/" + std::to_string(i) + ".jpg";
    ptl::test::put_jpeg(p, i);
    items.push_back({p, i / 2, i % 2});
  }
  const std::string jpg = ptl::test::jpeg_bytes();
  write_file(items[5].path, jpg.substr(0, jpg.size() / 2));  // truncated
  write_file(items[6].path, "");                             // zero bytes
  auto src = make_source(items);
  const BatchPlan plan = sequential_batches(8, 4, false);

  Loader strict(src, Transform::eval(16, 8), plan, LoaderOptions{2, 2, 0, nullptr, false, {}});
  Batch b;
  REQUIRE(strict.next(b));
  CHECK(b.size() == 4);
  CHECK(b.camids.data<int64_t>()[1] == 1);
  CHECK_THROWS_WITH(strict.next(b), Catch::Contains("5.jpg") && Catch::Contains("truncated"));

  auto skip = std::make_shared<BadInput>(OnBad::Skip);
  Loader lenient(src, Transform::eval(16, 8), plan, LoaderOptions{2, 2, 0, skip, false, {}});
  REQUIRE(lenient.next(b));
  REQUIRE(lenient.next(b));
  CHECK(b.size() == 2);
  CHECK(b.indices.to_int_vector() == std::vector<int64_t>{4, 7});
  CHECK(b.images.shape() == ptl::Shape{2, 3, 16, 8});
  CHECK_FALSE(lenient.next(b));
  CHECK(skip->count() == 2);
}

TEST_CASE("loader shuts down cleanly with batches in flight", "[data]") {
  auto src = memory_source();
  for (int workers : {1, 2, 4}) {
    Loader loader(src, Transform::eval(32, 16), sequential_batches(40, 2, false),
                  LoaderOptions{workers, 3, 0, nullptr, false, {}});
    Batch b;
    REQUIRE(loader.next(b));
  }  // destructor joins while workers wait on the full window
  CHECK_THROWS_WITH(Loader(src, Transform::eval(8, 8), {{0, 40}}, {}),
                    Catch::Contains("index 40 out of range"));
}
