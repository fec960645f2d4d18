// Seeded random-bytes fuzzing of every parser that reads outside data: IDX, CIFAR, list files,
// safetensors headers, PyTorch checkpoints and image decoding. Each input must parse or throw
// ptl::Error; anything else (a crash, another exception, a sanitizer report in the PTL_SANITIZE
// build) fails. Then the coverage-guided fuzz targets' corpora (seeds and the inputs that once
// broke a parser) replayed through the targets' bodies (tests/fuzz/fuzz_target.h).
#include <catch2/catch.hpp>

#include <filesystem>

#include "data/class_datasets.h"
#include "data/file_util.h"
#include "data/image_decode.h"
#include "data/image_encode.h"
#include "data/reid_datasets.h"
#include "data_test_util.h"
#include "engine/rng.h"
#include "engine/safetensors.h"
#include "engine/weights_file.h"
#include "tests/fuzz/fuzz_target.h"

using namespace ptl::data;

namespace {
// Random bytes, or a valid seed file with a few bytes changed, cut, or extended.
std::string mutate(const std::string& seed_file, ptl::Generator& g) {
  std::string s = seed_file;
  switch (g.randint(4)) {
    case 0: {  // pure noise
      s.assign(static_cast<size_t>(g.randint(600)), '\0');
      for (char& c : s) c = static_cast<char>(g.randint(256));
      return s;
    }
    case 1:
      s.resize(static_cast<size_t>(g.randint(static_cast<int64_t>(s.size()) + 1)));
      break;
    case 2:
      for (int64_t k = 0, n = 1 + g.randint(8); k < n && !s.empty(); ++k)
        s[g.randint(static_cast<int64_t>(s.size()))] = static_cast<char>(g.randint(256));
      break;
    default:
      for (int64_t k = 0, n = g.randint(64); k < n; ++k) s += static_cast<char>(g.randint(256));
  }
  return s;
}

template <class F>
void fuzz(const char* what, const std::string& seed_file, int rounds, uint64_t seed,
          const F& parse) {
  // The unmutated file must parse, or the rounds below would only exercise the first check.
  REQUIRE_NOTHROW(parse(seed_file));
  ptl::Generator g(seed);
  int ok = 0;
  for (int r = 0; r < rounds; ++r) {
    const std::string input = mutate(seed_file, g);
    try {
      parse(input);
      ++ok;
    } catch (const ptl::Error&) {
    } catch (const std::exception& e) {
      FAIL(what << " round " << r << ": unexpected exception " << e.what());
    }
  }
  // Every round either parsed or threw ptl::Error (checked above); nothing crashed or hung.
  UNSCOPED_INFO(what << ": " << ok << " of " << rounds << " mutated inputs parsed");
}

std::string be32(uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
          static_cast<char>(v)};
}
}  // namespace

TEST_CASE("fuzz: IDX and CIFAR parsers", "[fuzz]") {
  std::string images = be32(0x803) + be32(2) + be32(3) + be32(3) + std::string(18, 'x');
  std::string labels = be32(0x801) + be32(3) + "\x01\x02\x03";
  fuzz("idx images", images, 10000, 1, [](const std::string& b) {
    ClassSplit s;
    parse_idx_images(b, "fuzz", s);
  });
  fuzz("idx labels", labels, 10000, 2, [](const std::string& b) { parse_idx_labels(b, "fuzz"); });
  for (bool c100 : {false, true}) {
    // CIFAR-10 records: label + 3,072 pixels; CIFAR-100: coarse and fine label + 3,072 pixels.
    const std::string record = std::string(c100 ? 2 : 1, '\x03') + std::string(3072, 'p');
    fuzz(c100 ? "cifar100" : "cifar10", record + record, 3000, 3 + c100,
         [c100](const std::string& b) {
           ClassSplit s;
           BadInput skip(OnBad::Skip);
           parse_cifar(b, "fuzz", c100, s, skip);
           REQUIRE(s.pixels.size() == static_cast<size_t>(s.size()) * 3072);
         });
  }
}

TEST_CASE("fuzz: list files and Market names", "[fuzz]") {
  const std::string plain = "a/b.jpg 12 3\n# c\nq.jpg -1 0\nx.jpg 5\n";
  const std::string msmt =
      "0000/0000_000_01_0303morning_0015_0.jpg 0\n0001/0001_000_05_0303noon_0100_0.jpg 1\n";
  for (ListKind kind : {ListKind::Plain, ListKind::MSMT17})
    fuzz("list", kind == ListKind::Plain ? plain : msmt, 10000, 5, [kind](const std::string& b) {
      for (OnBad policy : {OnBad::Error, OnBad::Skip}) {
        BadInput bad(policy);
        for (const auto& it : parse_reid_list(b, "fuzz.txt", "/root", kind, bad))
          REQUIRE(it.pid >= 0);
      }
    });
  fuzz("market name", "0002_c1s1_000451_03.jpg", 10000, 6, [](const std::string& b) {
    int64_t pid = 0, cam = 0;
    if (parse_market_name(b, pid, cam)) REQUIRE((cam >= 0 && cam <= 9));
  });
}

TEST_CASE("fuzz: safetensors headers", "[fuzz]") {
  const std::string header = R"({"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}})";
  std::string file;
  for (int i = 0; i < 8; ++i) file += static_cast<char>(i == 0 ? header.size() : 0);
  file += header + std::string(16, '\0');
  fuzz("safetensors", file, 10000, 7,
       [](const std::string& b) { ptl::parse_safetensors(b, "fuzz.safetensors"); });
}

TEST_CASE("fuzz: PyTorch checkpoints, zip and legacy", "[fuzz]") {
  uint64_t seed = 11;
  for (const char* file : {"values.pth", "values_legacy.pth"})
    fuzz(file, ptl::data::read_file(std::string(PTL_SOURCE_DIR) + "/tests/fuzz/corpus/pth/" + file),
         3000, seed++, [](const std::string& b) { ptl::parse_weights_file(b, "fuzz.pth"); });
}

TEST_CASE("fuzz: image decoding", "[fuzz]") {
  const Image img = ptl::test::pattern_image(12, 10);
  fuzz("jpeg", ptl::test::jpeg_bytes(12, 10), 6000, 8,
       [](const std::string& b) { decode_image(b, "fuzz.jpg"); });
  fuzz("png", encode_png(10, 12, 3, img.px.data()), 6000, 9,
       [](const std::string& b) { decode_image(b, "fuzz.png"); });
  fuzz("bmp", encode_bmp(10, 12, 3, img.px.data()), 6000, 10,
       [](const std::string& b) { decode_image(b, "fuzz.bmp"); });
}

TEST_CASE("fuzz: every corpus file through its libFuzzer target", "[fuzz]") {
  namespace fs = std::filesystem;
  const fs::path corpus = fs::path(PTL_SOURCE_DIR) / "tests/fuzz/corpus";
  const auto& targets = ptl::fuzz::targets();
  // Every target has seeds, and every corpus folder a target.
  for (const auto& t : targets) CHECK(fs::is_directory(corpus / t.first));
  int files = 0, regressions = 0;
  for (const auto& dir : fs::directory_iterator(corpus)) {
    const std::string name = dir.path().filename().string();
    auto target = targets.find(name);
    REQUIRE(target != targets.end());
    for (const auto& file : fs::directory_iterator(dir.path())) {
      const std::string input = ptl::data::read_file(file.path().string());
      // regress_* files once broke a parser: each must now be refused with ptl::Error, not
      // merely survive (a parser that accepted one again would hide the fix's loss).
      const bool regress = file.path().filename().string().rfind("regress_", 0) == 0;
      INFO(file.path().string());
      try {
        target->second(input);
        CHECK_FALSE(regress);
      } catch (const ptl::Error&) {
        regressions += regress;
      } catch (const std::exception& e) {
        FAIL(file.path().string() << ": " << e.what());
      }
      ++files;
    }
  }
  CHECK(files > 0);
  CHECK(regressions > 0);  // the regress_* files were found
}
