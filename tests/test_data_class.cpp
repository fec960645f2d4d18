// Classification datasets: CIFAR-10/100 binary, IDX (plain and gzip, and the real Fashion-MNIST
// when Debian's dataset-fashion-mnist is installed), folder-per-class.
#include <zlib.h>
#include <catch2/catch.hpp>

#include "data/class_datasets.h"
#include "data/file_util.h"
#include "data/source.h"
#include "data_test_util.h"
#include "test_util.h"
#include "tests/skip.h"

using namespace ptl::data;
using ptl::test::cifar_record;
using ptl::test::put_text;

namespace {
std::string be32(uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
          static_cast<char>(v)};
}

std::string idx_images(uint32_t n, uint32_t rows, uint32_t cols) {
  std::string b = be32(0x803) + be32(n) + be32(rows) + be32(cols);
  for (uint32_t i = 0; i < n * rows * cols; ++i) b += static_cast<char>(i % 251);
  return b;
}

std::string idx_labels(const std::vector<int>& l) {
  std::string b = be32(0x801) + be32(static_cast<uint32_t>(l.size()));
  for (int v : l) b += static_cast<char>(v);
  return b;
}

void write_gz(const std::string& path, const std::string& bytes) {
  gzFile f = gzopen(path.c_str(), "wb");
  REQUIRE(f != nullptr);
  gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size()));
  gzclose(f);
}

std::string error_of(ClassFormat f, const std::string& root) {
  BadInput bad;
  try {
    load_classification(f, root, bad);
  } catch (const ptl::Error& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST_CASE("CIFAR-10 and CIFAR-100 binary records", "[data]") {
  ptl::test::TempDir dir;
  const std::string d = dir.path() + "/cifar-10-batches-bin";
  std::filesystem::create_directories(d);
  for (int b = 1; b <= 5; ++b)
    write_file(d + "/data_batch_" + std::to_string(b) + ".bin",
               cifar_record(b, false) + cifar_record(9, false));
  write_file(d + "/test_batch.bin", cifar_record(3, false));
  BadInput bad;
  const ClassDataset ds = load_classification(ClassFormat::Cifar10, dir.path(), bad);
  CHECK(ds.num_classes == 10);
  const ClassSplit& train = ds.split("train");
  REQUIRE(train.size() == 10);
  CHECK(train.labels[0] == 1);
  CHECK(train.labels[9] == 9);
  CHECK(ds.split("test").size() == 1);
  // Planes become HWC: pixel 5 of record 0 = (11, 5, 7).
  const Image img = make_source(train)->load(0);
  CHECK(img.at(0, 5)[0] == 11);
  CHECK(img.at(0, 5)[1] == 5);
  CHECK(img.at(0, 5)[2] == 7);

  write_file(d + "/test_batch.bin", cifar_record(3, false) + "xyz");
  CHECK_THAT(error_of(ClassFormat::Cifar10, dir.path()),
             Catch::Contains("test_batch.bin") && Catch::Contains("3073-byte"));
  write_file(d + "/test_batch.bin", cifar_record(3, false) + cifar_record(12, false));
  CHECK_THAT(error_of(ClassFormat::Cifar10, dir.path()),
             Catch::Contains("test_batch.bin: record 1: label 12"));
  BadInput skip(OnBad::Skip);
  CHECK(load_classification(ClassFormat::Cifar10, dir.path(), skip).split("test").size() == 1);
  CHECK(skip.count() == 1);
  write_file(d + "/test_batch.bin", "");
  CHECK_THAT(error_of(ClassFormat::Cifar10, dir.path()),
             Catch::Contains("test_batch.bin: wrong size"));
  std::filesystem::remove(d + "/data_batch_3.bin");
  CHECK_THAT(error_of(ClassFormat::Cifar10, dir.path()), Catch::Contains("data_batch_3.bin"));

  write_file(dir.path() + "/train.bin", cifar_record(42, true) + cifar_record(99, true));
  write_file(dir.path() + "/test.bin", cifar_record(0, true));
  const ClassDataset c100 = load_classification(ClassFormat::Cifar100, dir.path(), bad);
  CHECK(c100.num_classes == 100);
  CHECK(c100.split("train").labels == std::vector<int64_t>{42, 99});
  write_file(dir.path() + "/test.bin", cifar_record(0, false));  // a CIFAR-10 record: wrong size
  CHECK_THAT(error_of(ClassFormat::Cifar100, dir.path()),
             Catch::Contains("test.bin") && Catch::Contains("3074-byte"));
}

TEST_CASE("IDX files, plain and gzip", "[data]") {
  ptl::test::TempDir dir;
  const std::string d = dir.path();
  write_file(d + "/train-images-idx3-ubyte", idx_images(3, 4, 5));
  write_file(d + "/train-labels-idx1-ubyte", idx_labels({1, 0, 4}));
  write_gz(d + "/t10k-images-idx3-ubyte.gz", idx_images(2, 4, 5));
  write_gz(d + "/t10k-labels-idx1-ubyte.gz", idx_labels({2, 2}));
  BadInput bad;
  const ClassDataset ds = load_classification(ClassFormat::Idx, d, bad);
  CHECK(ds.num_classes == 5);
  const ClassSplit& test = ds.split("test");
  CHECK(test.size() == 2);
  CHECK(test.h == 4);
  CHECK(test.w == 5);
  const Image img = make_source(test)->load(1);  // grey, as stored (the transform converts)
  CHECK(img.c == 1);
  CHECK(img.at(0, 1)[0] == 21);
  CHECK(img.at(1, 0)[0] == 25);

  std::string bad_magic = idx_images(3, 4, 5);
  bad_magic[3] = 0x01;
  write_file(d + "/train-images-idx3-ubyte", bad_magic);
  CHECK_THAT(error_of(ClassFormat::Idx, d),
             Catch::Contains("train-images-idx3-ubyte: bad IDX magic 0x00000801"));
  write_file(d + "/train-images-idx3-ubyte", idx_images(3, 4, 5).substr(0, 50));
  CHECK_THAT(error_of(ClassFormat::Idx, d),
             Catch::Contains("train-images-idx3-ubyte: wrong size: 50 bytes"));
  write_file(d + "/train-images-idx3-ubyte", idx_images(4, 4, 5));
  CHECK_THAT(error_of(ClassFormat::Idx, d),
             Catch::Contains("4 images but") && Catch::Contains("3 labels"));
  std::filesystem::remove(d + "/train-labels-idx1-ubyte");
  CHECK_THAT(error_of(ClassFormat::Idx, d), Catch::Contains("missing train-labels-idx1-ubyte"));
  write_file(d + "/train-labels-idx1-ubyte.gz", "\x1f\x8b\x08garbage");
  CHECK_THAT(error_of(ClassFormat::Idx, d), Catch::Contains("train-labels-idx1-ubyte.gz"));
}

TEST_CASE("real Fashion-MNIST from dataset-fashion-mnist", "[data][fashion_mnist]") {
  const std::string root = "/usr/share/datasets/fashion-mnist";
  if (!is_dir(root)) PTL_SKIP("dataset-fashion-mnist is not installed");
  BadInput bad;
  const ClassDataset ds = load_classification(ClassFormat::Idx, root, bad);
  CHECK(ds.num_classes == 10);
  CHECK(ds.split("train").size() == 60000);
  CHECK(ds.split("test").size() == 10000);
  CHECK(ds.split("train").labels[0] == 9);  // the first training image is an ankle boot
  CHECK(ds.split("test").h == 28);
}

TEST_CASE("folder-per-class datasets", "[data]") {
  ptl::test::TempDir dir;
  const std::string d = dir.path();
  for (const char* f : {"train/cat/1.jpg", "train/cat/2.png", "train/dog/a.jpg", "test/dog/b.jpg"})
    ptl::test::put_jpeg(d + "/" + f);
  put_text(d + "/train/dog/notes.txt", "ignored");
  std::filesystem::create_directories(d + "/train/emu");
  BadInput bad;
  const ClassDataset ds = load_classification(ClassFormat::Folder, d, bad);
  CHECK(ds.num_classes == 3);
  CHECK(ds.split("train").labels == std::vector<int64_t>{0, 0, 1});
  CHECK(ds.split("test").labels == std::vector<int64_t>{1});
  ptl::test::put_jpeg(d + "/test/yak/c.jpg");
  CHECK_THAT(error_of(ClassFormat::Folder, d), Catch::Contains("test/yak"));
  std::filesystem::remove_all(d + "/test");
  std::filesystem::create_directories(d + "/test/cat");
  CHECK_THAT(error_of(ClassFormat::Folder, d),
             Catch::Contains("/test") && Catch::Contains("empty split"));
  CHECK_THAT(error_of(ClassFormat::Folder, d + "/none"), Catch::Contains("missing folder"));
}

TEST_CASE("a transfer task cut by classes and a few images per class", "[data]") {
  ClassSplit s;
  s.name = "train";
  s.h = s.w = 1;
  s.c = 2;
  s.labels = {3, 1, 3, 0, 1, 3, 2};
  for (size_t i = 0; i < s.labels.size(); ++i) s.pixels.insert(s.pixels.end(), {uint8_t(i), 9});
  // Classes 3 and 1 become 0 and 1; two images each, the first two in split order.
  const ClassSplit cut = select_classes(s, 4, {3, 1}, 2, "x");
  CHECK(cut.labels == std::vector<int64_t>{0, 1, 0, 1});
  CHECK(cut.pixels == std::vector<uint8_t>{0, 9, 1, 9, 2, 9, 4, 9});
  CHECK(cut.h == 1);
  CHECK(cut.c == 2);
  // No classes given: labels unchanged, only the per-class cap.
  CHECK(select_classes(s, 4, {}, 1, "x").labels == std::vector<int64_t>{3, 1, 0, 2});
  CHECK(select_classes(s, 4, {}, 0, "x").labels == s.labels);
  auto error = [&](std::vector<int64_t> classes) {
    try {
      select_classes(s, 4, classes, 0, "ds (data.classes)");
    } catch (const ptl::Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  CHECK_THAT(error({4}), Catch::Contains("class 4 does not exist") && Catch::Contains("0..3"));
  CHECK_THAT(error({1, 1}), Catch::Contains("class 1 is listed twice"));
}
