// Resize (against Pillow where it is installed), flip, pad + crop, normalisation, erasing.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdlib>

#include "data/augment.h"
#include "data/file_util.h"
#include "data/image_encode.h"
#include "data/resize.h"
#include "data/transform.h"
#include "data_test_util.h"
#include "test_util.h"
#include "tests/skip.h"

using namespace ptl::data;
using ptl::test::pattern_image;

TEST_CASE("resize keeps constants, copies at equal size, and antialiases", "[data]") {
  Image flat(30, 20, 3);
  std::fill(flat.px.begin(), flat.px.end(), 137);
  for (Interp m : {Interp::Bilinear, Interp::Bicubic})
    for (auto [h, w] : {std::pair{60, 40}, {7, 5}, {30, 9}, {13, 20}}) {
      const Image r = resize(flat, h, w, m);
      REQUIRE(r.h == h);
      REQUIRE(r.w == w);
      for (uint8_t v : r.px) REQUIRE(v == 137);
    }
  const Image src = pattern_image(16, 12);
  CHECK(resize(src, 16, 12, Interp::Bicubic).px == src.px);
  // Shrinking a 1-pixel checker 4x averages it (antialiasing) instead of sampling it.
  Image checker(32, 32, 3);
  for (int y = 0; y < 32; ++y)
    for (int x = 0; x < 32; ++x)
      std::fill(checker.at(y, x), checker.at(y, x) + 3, ((x + y) & 1) ? 255 : 0);
  const Image small = resize(checker, 8, 8, Interp::Bilinear);
  for (int y = 1; y < 7; ++y)
    for (int x = 1; x < 7; ++x) CHECK(std::abs(int(small.at(y, x)[0]) - 128) <= 1);
}

TEST_CASE("resize matches Pillow byte for byte", "[data][pillow]") {
  if (std::system("/usr/bin/python3 -c 'import PIL' 2>/dev/null") != 0)
    PTL_SKIP("python3-pil is not installed");
  ptl::test::TempDir dir;
  const Image src = pattern_image(37, 23, 1);
  Image noisy = src;  // add texture so every tap matters
  for (size_t i = 0; i < noisy.px.size(); ++i)
    noisy.px[i] = static_cast<uint8_t>(noisy.px[i] ^ ((i * 2654435761u) >> 7));
  write_file(dir.path() + "/in.raw", std::string(noisy.px.begin(), noisy.px.end()));
  const std::vector<std::pair<int, int>> sizes = {{74, 46}, {256, 128}, {12, 9},
                                                  {37, 10}, {50, 23},   {20, 31}};
  std::string script =
      "import sys\nfrom PIL import Image\nd=sys.argv[1]\n"
      "im=Image.frombytes('RGB',(23,37),open(d+'/in.raw','rb').read())\n";
  for (auto [h, w] : sizes)
    for (const char* m : {"BILINEAR", "BICUBIC"})
      script += ptl::str("open(d+'/", m, h, "x", w, ".raw','wb').write(im.resize((", w, ",", h,
                         "),Image.", m, ").tobytes())\n");
  write_file(dir.path() + "/r.py", script);
  REQUIRE(std::system(("/usr/bin/python3 " + dir.path() + "/r.py " + dir.path()).c_str()) == 0);
  for (auto [h, w] : sizes)
    for (Interp m : {Interp::Bilinear, Interp::Bicubic}) {
      const std::string name = ptl::str(m == Interp::Bilinear ? "BILINEAR" : "BICUBIC", h, "x", w);
      const std::string want = read_file(dir.path() + "/" + name + ".raw");
      const Image got = resize(noisy, h, w, m);
      INFO(name);
      REQUIRE(want.size() == got.px.size());
      int maxdiff = 0;
      for (size_t i = 0; i < want.size(); ++i)
        maxdiff = std::max(maxdiff, std::abs(int(static_cast<uint8_t>(want[i])) - int(got.px[i])));
      CHECK(maxdiff == 0);
    }
}

TEST_CASE("flip mirrors; pad + crop shifts with zero fill", "[data]") {
  const Image src = pattern_image(6, 5);
  Image f = src;
  hflip(f);
  for (int y = 0; y < 6; ++y)
    for (int x = 0; x < 5; ++x)
      for (int c = 0; c < 3; ++c) REQUIRE(f.at(y, x)[c] == src.at(y, 4 - x)[c]);
  hflip(f);
  CHECK(f.px == src.px);

  ptl::Generator g(3);
  for (int trial = 0; trial < 20; ++trial) {
    Image img = src;
    ptl::Generator probe = g;  // the draws pad_random_crop is about to make
    const int dy = static_cast<int>(probe.randint(5)) - 2,
              dx = static_cast<int>(probe.randint(5)) - 2;
    pad_random_crop(img, 2, g);
    for (int y = 0; y < 6; ++y)
      for (int x = 0; x < 5; ++x) {
        const int sy = y + dy, sx = x + dx;
        const bool inside = sy >= 0 && sy < 6 && sx >= 0 && sx < 5;
        for (int c = 0; c < 3; ++c) REQUIRE(img.at(y, x)[c] == (inside ? src.at(sy, sx)[c] : 0));
      }
  }
}

TEST_CASE("to_chw_normalised is ToTensor + Normalize", "[data]") {
  const Image src = pattern_image(4, 3);
  const std::array<float, 3> mean{0.485f, 0.456f, 0.406f}, sd{0.229f, 0.224f, 0.225f};
  std::vector<float> out(3 * 4 * 3);
  to_chw_normalised(src, mean, sd, out.data());
  for (int c = 0; c < 3; ++c)
    for (int y = 0; y < 4; ++y)
      for (int x = 0; x < 3; ++x)
        REQUIRE(out[(c * 4 + y) * 3 + x] ==
                Approx((src.at(y, x)[c] / 255.0 - mean[c]) / sd[c]).epsilon(1e-6));
}

TEST_CASE("grey images: channel conversion, a (1, H, W) sample and erasing on one plane",
          "[data]") {
  const Image rgb = pattern_image(6, 5);
  const Image grey = convert_channels(rgb, 1);
  REQUIRE(grey.c == 1);
  for (int y = 0; y < 6; ++y)
    for (int x = 0; x < 5; ++x) {  // PIL's convert("L"): ITU-R 601-2 luma, rounded
      const uint8_t* p = rgb.at(y, x);
      REQUIRE(grey.at(y, x)[0] ==
              static_cast<int>(std::lround((p[0] * 299 + p[1] * 587 + p[2] * 114) / 1000.0)));
    }
  const Image back = convert_channels(grey, 3);
  REQUIRE(back.c == 3);
  CHECK((back.at(2, 3)[0] == grey.at(2, 3)[0] && back.at(2, 3)[2] == grey.at(2, 3)[0]));

  Transform t = Transform::eval(6, 5);
  t.grey();
  t.erasing = Erasing::release();
  t.erasing.p = 1.0;
  std::vector<float> out(static_cast<size_t>(t.sample_size()) + 1,
                         7.f);  // one sentinel past the end
  ptl::Generator g(3);
  t.apply(rgb, g, out.data());
  CHECK(t.sample_size() == 30);
  CHECK(out.back() == 7.f);
  int erased = 0;
  for (int i = 0; i < 30; ++i) {
    const float expect = (grey.px[i] / 255.f - 0.449f) / 0.226f;
    if (out[i] == 0.f && expect != 0.f)
      ++erased;
    else
      REQUIRE(out[i] == Approx(expect).epsilon(1e-6));
  }
  CHECK(erased > 0);
}

TEST_CASE("random erasing: probability, box size and fill", "[data]") {
  const int h = 64, w = 32;
  ptl::Generator g(11);
  Erasing off;
  std::vector<float> x(3 * h * w, 5.f);
  random_erase(off, x.data(), 3, h, w, g);
  CHECK(std::count(x.begin(), x.end(), 5.f) == 3 * h * w);

  for (const Erasing& e : {Erasing::release(), Erasing::strong_baseline()}) {
    int erased = 0;
    for (int trial = 0; trial < 400; ++trial) {
      std::fill(x.begin(), x.end(), 5.f);
      random_erase(e, x.data(), 3, h, w, g);
      const auto n = std::count_if(x.begin(), x.begin() + h * w, [](float v) { return v != 5.f; });
      if (n == 0) continue;
      ++erased;
      // One box per channel, same place, the channel's fill, area within [0.02, 0.4] (+rounding).
      REQUIRE(n >= 0.02 * h * w * 0.6);
      REQUIRE(n <= 0.4 * h * w * 1.2);
      for (int c = 0; c < 3; ++c)
        for (int i = 0; i < h * w; ++i)
          if (x[i] != 5.f) REQUIRE(x[c * h * w + i] == e.fill[c]);
    }
    CHECK(erased > 160);  // p = 0.5 over 400 trials (binomial: 200 +- 10)
    CHECK(erased < 240);
  }
  CHECK(Erasing::strong_baseline().fill[0] == 0.485f);
  CHECK(Erasing::release().fill[2] == 0.f);
}

TEST_CASE("transforms are a pure function of the generator state", "[data]") {
  const Image src = pattern_image(128, 64);
  const Transform t = Transform::strong_baseline_train(64, 32);
  std::vector<float> a(3 * 64 * 32), b(a.size());
  ptl::Generator g1(42), g2(42);
  t.apply(src, g1, a.data());
  t.apply(src, g2, b.data());
  CHECK(a == b);
  // Evaluation: resize + normalise only, no randomness used.
  ptl::Generator g3(1);
  Transform::eval(64, 32).apply(src, g3, a.data());
  CHECK(g3.offset() == 0);
  const Image small = resize(src, 64, 32, Interp::Bilinear);
  CHECK(a[0] == Approx((small.at(0, 0)[0] / 255.0 - 0.485) / 0.229).epsilon(1e-6));
}
