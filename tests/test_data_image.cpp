// Decoding: formats, channel conversion, and every bad-file case naming the file.
#include <catch2/catch.hpp>

#include "data/image_decode.h"
#include "data/image_encode.h"
#include "data_test_util.h"
#include "test_util.h"

using namespace ptl::data;
using ptl::test::pattern_image;

namespace {
std::string error_of(const std::string& bytes, const std::string& what) {
  try {
    decode_image(bytes, what);
  } catch (const ptl::Error& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST_CASE("PNG and BMP decode losslessly to RGB", "[data]") {
  const Image src = pattern_image(9, 7);
  for (const std::string& bytes :
       {encode_png(src.w, src.h, 3, src.px.data()), encode_bmp(src.w, src.h, 3, src.px.data())}) {
    const Image out = decode_image(bytes, "mem");
    REQUIRE(out.h == 9);
    REQUIRE(out.w == 7);
    REQUIRE(out.c == 3);
    CHECK(out.px == src.px);
  }
}

TEST_CASE("grayscale is replicated and alpha dropped", "[data]") {
  std::vector<uint8_t> gray = {0, 50, 100, 150, 200, 250};
  const Image g = decode_image(encode_png(3, 2, 1, gray.data()), "gray.png");
  REQUIRE(g.c == 3);
  for (int i = 0; i < 6; ++i)
    for (int c = 0; c < 3; ++c) CHECK(g.px[i * 3 + c] == gray[i]);
  std::vector<uint8_t> rgba = {10, 20, 30, 0,
                               40, 50, 60, 255};  // alpha ignored, like PIL convert("RGB")
  const Image a = decode_image(encode_png(2, 1, 4, rgba.data()), "rgba.png");
  CHECK(a.px == std::vector<uint8_t>{10, 20, 30, 40, 50, 60});
  std::vector<uint8_t> ga = {77, 3};  // gray + alpha
  CHECK(decode_image(encode_png(1, 1, 2, ga.data()), "ga.png").px ==
        std::vector<uint8_t>{77, 77, 77});
}

TEST_CASE("JPEG decodes close to the encoded pixels", "[data]") {
  const Image src = pattern_image(32, 16);
  const Image out = decode_image(ptl::test::jpeg_bytes(32, 16), "a.jpg");
  REQUIRE(out.h == 32);
  REQUIRE(out.w == 16);
  double err = 0;
  for (size_t i = 0; i < src.px.size(); ++i) err += std::abs(int(src.px[i]) - int(out.px[i]));
  CHECK(err / src.px.size() < 16.0);  // quality 90, 4:2:0 chroma, on a sharp blue checker
}

TEST_CASE("bad image files give errors naming the file", "[data]") {
  const std::string jpg = ptl::test::jpeg_bytes(64, 32);
  CHECK_THAT(error_of("", "empty.jpg"),
             Catch::Contains("empty.jpg") && Catch::Contains("zero-byte"));
  CHECK_THAT(error_of("Thumbs.db is not an image at all", "note.jpg"),
             Catch::Contains("note.jpg") && Catch::Contains("not a JPEG, PNG or BMP"));
  CHECK_THAT(error_of(jpg.substr(0, jpg.size() / 2), "half.jpg"),
             Catch::Contains("half.jpg") && Catch::Contains("truncated"));
  CHECK_THAT(error_of(jpg.substr(0, jpg.size() - 2), "noeoi.jpg"), Catch::Contains("noeoi.jpg"));
  std::string corrupt = jpg;
  for (size_t i = 2; i < 40; ++i) corrupt[i] = static_cast<char>(0xFF);  // destroy the headers
  CHECK_THAT(error_of(corrupt, "corrupt.jpg"), Catch::Contains("corrupt.jpg"));
  const Image src = pattern_image(8, 8);
  const std::string png = encode_png(8, 8, 3, src.px.data()),
                    bmp = encode_bmp(8, 8, 3, src.px.data());
  CHECK_THAT(error_of(png.substr(0, png.size() - 20), "cut.png"), Catch::Contains("cut.png"));
  CHECK_THAT(error_of(bmp.substr(0, bmp.size() - 30), "cut.bmp"),
             Catch::Contains("cut.bmp") && Catch::Contains("truncated"));
  CHECK_THROWS_WITH(load_image("/nonexistent/x.jpg"), Catch::Contains("/nonexistent/x.jpg"));
  // A Huffman table with more codes than stb_image 2.27 can hold (it would write past it).
  std::string dht = jpg;
  const size_t at = dht.find("\xFF\xC4");
  REQUIRE(at != std::string::npos);
  for (size_t i = 0; i < 16; ++i) dht[at + 5 + i] = static_cast<char>(0x40);
  CHECK_THAT(error_of(dht, "dht.jpg"),
             Catch::Contains("dht.jpg") && Catch::Contains("Huffman table declares 1024"));
  // A BMP header whose height is 0: stb_image decodes it to an empty image (found by fuzzing;
  // tests/fuzz/corpus/image/regress_bmp_zero_rows.bmp).
  std::string flat = bmp;
  for (int i = 22; i < 26; ++i) flat[static_cast<size_t>(i)] = 0;  // biHeight
  CHECK_THAT(error_of(flat, "flat.bmp"),
             Catch::Contains("flat.bmp: corrupt BMP") && Catch::Contains("x0 pixels"));
  // A header claiming 65536 columns in a file of a few hundred bytes: refused before stb fills
  // 512 Kpixels (tests/fuzz/corpus/image/regress_bmp_huge_claim.bmp claims 25 Mpixels).
  std::string wide = bmp;
  wide[20] = 1;  // biWidth 8 -> 65544
  CHECK_THAT(error_of(wide, "wide.bmp"),
             Catch::Contains("wide.bmp: truncated BMP") && Catch::Contains("65544x8 pixels"));
  // The same claim as a top-down image (a negative height): stb's header reader gives the
  // height with its sign (regress_bmp_negative_height.bmp claims 151 x 262134).
  std::string tall = bmp;
  const char minus_65544[4] = {'\xF8', '\xFF', '\xFE', '\xFF'};
  for (int i = 0; i < 4; ++i) tall[static_cast<size_t>(22 + i)] = minus_65544[i];  // biHeight
  CHECK_THAT(error_of(tall, "tall.bmp"),
             Catch::Contains("tall.bmp: truncated BMP") && Catch::Contains("8x65544 pixels"));
}

TEST_CASE("load_image reads files written by write_jpeg", "[data]") {
  ptl::test::TempDir dir;
  const Image src = pattern_image(20, 10);
  write_jpeg(dir.path() + "/a.jpg", src.w, src.h, 3, src.px.data(), 95);
  const Image out = load_image(dir.path() + "/a.jpg");
  CHECK(out.h == 20);
  CHECK(out.w == 10);
  CHECK_THROWS_WITH(write_jpeg(dir.path() + "/missing/a.jpg", 2, 2, 3, src.px.data(), 90),
                    Catch::Contains("missing/a.jpg"));
}
