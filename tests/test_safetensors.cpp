// safetensors round trips, interchange with PyTorch-written files, and malformed files.
#include <catch2/catch.hpp>

#include <cstdio>
#include <fstream>

#include "engine/ops.h"
#include "engine/safetensors.h"
#include "tests/test_util.h"

using namespace ptl;
using Catch::Contains;

TEST_CASE("safetensors round-trips every supported dtype and metadata", "[safetensors]") {
  test::TempDir dir;
  TensorMap m;
  m["a.weight"] = reshape(arange(6), {2, 3});
  m["b"] = from_vector(std::vector<double>{1.5, -2.25}, {2});
  m["ids"] = from_vector(std::vector<int64_t>{-1, 0, 1LL << 40}, {3});
  m["i32"] = arange(4).to(DType::I32);
  m["scalar"] = scalar(7.0);
  m["empty"] = zeros({0, 3});
  m["view"] = narrow(reshape(arange(12), {3, 4}), 1, 1, 2);  // non-contiguous is written contiguous
  const std::string path = dir.path() + "/t.safetensors";
  save_safetensors(path, m, {{"format", "pt"}, {"note", "quote \" and \\ ok"}});
  TensorMap r = load_safetensors(path);
  REQUIRE(r.size() == m.size());
  for (const auto& [k, v] : m) {
    INFO(k);
    CHECK(r[k].shape() == v.shape());
    CHECK(r[k].dtype() == v.dtype());
    CHECK(r[k].to_double_vector() == v.to_double_vector());
  }
  auto meta = load_safetensors_metadata(path);
  CHECK(meta["note"] == "quote \" and \\ ok");
}

TEST_CASE("malformed safetensors files get errors naming the file and the problem",
          "[safetensors]") {
  test::TempDir dir;
  const std::string good = serialize_safetensors({{"w", reshape(arange(6), {2, 3})}});
  auto write = [&](const std::string& name, const std::string& bytes) {
    std::ofstream(dir.path() + "/" + name, std::ios::binary) << bytes;
    return dir.path() + "/" + name;
  };
  CHECK_THROWS_WITH(load_safetensors(dir.path() + "/missing.safetensors"),
                    Contains("missing.safetensors: cannot open"));
  CHECK_THROWS_WITH(load_safetensors(write("short", "abc")),
                    Contains("short: not a safetensors file"));
  CHECK_THROWS_WITH(load_safetensors(write("trunc", good.substr(0, good.size() - 5))),
                    Contains("trunc: tensor 'w'") && Contains("truncated"));
  std::string huge = good;
  huge[5] = 0x7f;  // header length far beyond the file
  CHECK_THROWS_WITH(load_safetensors(write("huge", huge)), Contains("huge: header length"));
  std::string bad_json = good;
  bad_json[8] = '[';
  CHECK_THROWS_WITH(load_safetensors(write("json", bad_json)), Contains("json: "));
  std::string f16 = good;
  f16.replace(f16.find("F32"), 3, "F16");
  CHECK_THROWS_WITH(load_safetensors(write("f16", f16)), Contains("dtype F16"));
  std::string wrong_span = good;
  wrong_span.replace(wrong_span.find("[2,3]"), 5, "[3,3]");
  CHECK_THROWS_WITH(load_safetensors(write("span", wrong_span)),
                    Contains("needs 36 bytes but its data_offsets span 24"));
}

TEST_CASE("saving into an unwritable place fails clearly and keeps the old file", "[safetensors]") {
  test::TempDir dir;
  const std::string path = dir.path() + "/keep.safetensors";
  save_safetensors(path, {{"x", ones({2})}});
  CHECK_THROWS_WITH(save_safetensors(dir.path() + "/no/such/dir/x.safetensors", {{"x", ones({2})}}),
                    Contains("cannot write"));
  // A full disk, simulated with a file-size limit: writes past 4 KiB fail (EFBIG).
  {
    test::FileSizeLimit limit(4096);
    CHECK_THROWS_WITH(save_safetensors(path, {{"x", ones({1 << 16})}}),
                      Contains("keep.safetensors: write failed") && Contains("untouched"));
  }
  CHECK(load_safetensors(path)["x"].to_vector() == std::vector<float>{1, 1});
}

TEST_CASE("files written by PyTorch's layout rules load (header padding, offsets order)",
          "[safetensors]") {
  // Hand-made file: 2 tensors listed in reverse data order with a space-padded header.
  std::string header =
      R"({"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"I64","shape":[],"data_offsets":[4,12]}})";
  while ((header.size() + 8) % 8) header += ' ';
  std::string bytes(8, '\0');
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>((header.size() >> (8 * i)) & 0xFF);
  bytes += header;
  float b = 2.5f;
  int64_t a = -7;
  bytes.append(reinterpret_cast<const char*>(&b), 4);
  bytes.append(reinterpret_cast<const char*>(&a), 8);
  TensorMap m = parse_safetensors(bytes, "handmade");
  CHECK(m["b"].item() == 2.5);
  CHECK(m["a"].item() == -7);
  CHECK(m["a"].dim() == 0);
}
