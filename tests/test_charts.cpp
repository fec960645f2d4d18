// Charts: axes with round steps and labels that never repeat; a legend no line crosses.
#include <catch2/catch.hpp>

#include <cmath>
#include <set>

#include "data/image_decode.h"
#include "pictures/line_chart.h"
#include "pictures/ticks.h"
#include "tests/test_util.h"

using namespace ptl;

TEST_CASE("nice_ticks: 1-2-2.5-5 steps, whole-step ranges, distinct labels", "[plot]") {
  const Ticks a = nice_ticks(3.2, 7.8);  // was labelled 3.2 / 5.5 / 7.8
  CHECK(a.step == 1);
  CHECK(a.labels == std::vector<std::string>{"3", "4", "5", "6", "7", "8"});

  const Ticks epochs = nice_ticks(1, 16, 7);
  CHECK(epochs.labels == std::vector<std::string>{"0", "5", "10", "15", "20"});

  const Ticks narrow = nice_ticks(15.55, 16.02);  // was labelled 16, 16, 16, 16, 15
  CHECK(narrow.step == Approx(0.2));
  CHECK(narrow.labels == std::vector<std::string>{"15.4", "15.6", "15.8", "16.0", "16.2"});

  CHECK(nice_ticks(0, 10, 5).labels ==
        std::vector<std::string>{"0.0", "2.5", "5.0", "7.5", "10.0"});
  CHECK(nice_ticks(1, 4, 7, true).labels == std::vector<std::string>{"1", "2", "3", "4"});
  CHECK(nice_ticks(2, 2).labels ==
        std::vector<std::string>{"1.50", "1.75", "2.00", "2.25", "2.50"});
  CHECK(nice_ticks(-0.3, 0.05).labels.at(3) == "0.0");  // never "-0.0"

  for (const auto& [lo, hi] : std::vector<std::pair<double, double>>{{0, 1},
                                                                     {0.001, 0.0042},
                                                                     {-5, 37},
                                                                     {99.2, 99.9},
                                                                     {1, 400},
                                                                     {1e-3, 2e5},
                                                                     {12.5, 12.5000001}}) {
    const Ticks t = nice_ticks(lo, hi);
    INFO(lo << " .. " << hi << ": step " << t.step);
    CHECK(t.values.size() >= 2);
    CHECK(t.values.size() <= 6);
    CHECK(t.lo <= lo);
    CHECK(t.hi >= hi);
    const double m = t.step / std::pow(10.0, std::floor(std::log10(t.step) + 1e-9));
    CHECK((m == Approx(1) || m == Approx(2) || m == Approx(2.5) || m == Approx(5)));
    CHECK(std::set<std::string>(t.labels.begin(), t.labels.end()).size() == t.labels.size());
  }
}

TEST_CASE("line charts keep the legend above the plot, where no series is drawn", "[plot]") {
  test::TempDir dir;
  const std::string png = dir.path() + "/chart.png";
  // Lines through the top-left corner of the plot, where the legend used to sit.
  Panel p{
      "TEST SCORE (%)",
      "EPOCH",
      {{"plain", {1, 2, 3, 4}, {40, 10, 12, 11}}, {"PTL carry", {1, 2, 3, 4}, {39, 20, 21, 22}}},
      true};
  write_line_chart(png, {p});
  const data::Image img = data::load_image(png);
  // Rows 38-63 hold the legend (one row of keys at y 40-51; the plot starts at y 67, its edge
  // markers reach 3 rows above): each series' colour appears there only as its 16 x 12 key.
  const uint8_t blue[3] = {31, 119, 180}, red[3] = {214, 39, 40};
  for (const uint8_t* c : {blue, red}) {
    int n = 0;
    for (int y = 38; y < 64; ++y)
      for (int x = 0; x < img.w; ++x) n += std::equal(c, c + 3, img.at(y, x));
    CHECK(n == 16 * 12);
  }
}
