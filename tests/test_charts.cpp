// Charts: axes with round steps and labels that never repeat; a legend no line crosses; a font
// with lower case; training curves from `ptl train` and `ptl plot`, titled by their metric.
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>

#include "data/image_decode.h"
#include "pictures/canvas.h"
#include "pictures/line_chart.h"
#include "pictures/ticks.h"
#include "tests/picture_test_util.h"
#include "tests/test_util.h"
#include "tests/tiny_run.h"

using namespace ptl;
using Catch::Contains;

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

TEST_CASE("the font has lower case, so 'mAP' is not drawn 'MAP'", "[plot]") {
  for (char c = 'a'; c <= 'z'; ++c) {
    INFO(c);
    const uint8_t* lower = Canvas::glyph_rows(c);
    const uint8_t* upper = Canvas::glyph_rows(static_cast<char>(c - 'a' + 'A'));
    REQUIRE(lower != nullptr);
    REQUIRE(upper != nullptr);
    CHECK(!std::equal(lower, lower + 7, upper));
  }
  Canvas a(40, 10, {255, 255, 255}), b(40, 10, {255, 255, 255});
  a.text(1, 1, "mAP", 1, {0, 0, 0});
  b.text(1, 1, "MAP", 1, {0, 0, 0});
  CHECK(!std::equal(a.pixels(), a.pixels() + 40 * 10 * 3, b.pixels()));
}

namespace {
// A run folder's metrics.jsonl as `ptl train` writes it: per epoch the step lines' summary
// (epoch_loss) and, when evaluated, an eval line.
void write_run(const std::string& dir, const std::vector<double>& losses,
               const std::vector<double>& maps) {
  std::filesystem::create_directories(dir);
  std::ofstream f(dir + "/metrics.jsonl");
  for (size_t e = 0; e < losses.size(); ++e) {
    f << "{\"epoch\": " << e + 1 << ", \"iter\": 3, \"step\": " << 3 * (e + 1)
      << ", \"loss\": 1.5}\n";
    f << "{\"epoch\": " << e + 1 << ", \"step\": " << 3 * (e + 1)
      << ", \"epoch_loss\": " << losses[e] << ", \"epoch_acc\": 0.25}\n";
    if (e < maps.size())
      f << "{\"epoch\": " << e + 1 << ", \"step\": " << 3 * (e + 1)
        << ", \"eval\": {\"mAP\": " << maps[e] << ", \"rank1\": 50}}\n";
  }
}

// How many pixels of the image, within columns [x0, x1), have colour c.
int count_colour(const data::Image& img, int x0, int x1, const uint8_t (&c)[3]) {
  int n = 0;
  for (int y = 0; y < img.h; ++y)
    for (int x = x0; x < x1; ++x) n += std::equal(c, c + 3, img.at(y, x));
  return n;
}
const uint8_t kBlue[3] = {31, 119, 180}, kRed[3] = {214, 39, 40};
}  // namespace

TEST_CASE("ptl plot draws runs' curves side by side, titled by metric, labelled by folder",
          "[plot][cli]") {
  test::TempDir dir;
  const std::string a = dir.path() + "/plain", b = dir.path() + "/ptl carry",
                    png = dir.path() + "/both.png";
  write_run(a, {3.0, 2.0, 1.5, 1.2}, {10, 20, 25, 30});
  write_run(b, {3.1, 1.8, 1.1, 0.9}, {12, 26, 33, 38});
  const auto r = test::run_ptl("plot " + a + " '" + b + "' --out " + png);
  INFO(r.out);
  REQUIRE(r.rc == 0);
  CHECK_THAT(r.out, Contains("wrote " + png + " (2 runs)"));
  const data::Image img = data::load_image(png);
  REQUIRE(img.w == 2 * 640);
  REQUIRE(img.h == 480);
  // Panel titles name what they show; the legend names each run by its folder.
  CHECK(test::shows_text(img, 70, 15, "training loss (epoch mean)", 2));
  CHECK(test::shows_text(img, 640 + 70, 15, "mAP (%)", 2));
  for (int x0 : {0, 640}) {
    CHECK(test::shows_text(img, x0 + 70 + 22, 40, "plain", 2));
    CHECK(test::shows_text(img, x0 + 70 + 22 + 22 + Canvas::text_width("plain", 2) + 24, 40,
                           "ptl carry", 2));
    // Each run's line is drawn in each panel: far more of its colour than the 16 x 12 key.
    CHECK(count_colour(img, x0, x0 + 640, kBlue) > 4 * 16 * 12);
    CHECK(count_colour(img, x0, x0 + 640, kRed) > 4 * 16 * 12);
  }

  // A folder that holds no run is refused, by name, and nothing is written.
  const std::string empty = dir.path() + "/empty", none = dir.path() + "/none.png";
  std::filesystem::create_directories(empty);
  const auto bad = test::run_ptl("plot " + a + " " + empty + " --out " + none);
  CHECK(bad.rc == 1);
  CHECK_THAT(bad.out, Contains(empty + " has no metrics.jsonl"));
  CHECK(!std::filesystem::exists(none));
  CHECK(test::run_ptl("plot").rc == 1);
}

TEST_CASE("ptl train draws train.out/curves.png of its loss and mAP", "[plot][cli][train]") {
  test::TempDir dir;
  const std::string out = dir.path() + "/run one";  // a space: the paths are quoted
  Config c = test::tiny_run_config(out, 2);
  c.set("train.eval_every", "1");
  std::ofstream(dir.path() + "/tiny.yaml") << c.to_yaml();
  const auto r = test::run_ptl("train --config " + dir.path() + "/tiny.yaml");
  INFO(r.out);
  REQUIRE(r.rc == 0);
  CHECK_THAT(r.out,
             Contains("done: 2 epochs, 6 steps") && Contains("curves: " + out + "/curves.png"));
  const data::Image img = data::load_image(out + "/curves.png");
  CHECK(img.w == 2 * 640);
  CHECK(test::shows_text(img, 640 + 70, 15, "mAP (%)", 2));
  CHECK(test::shows_text(img, 640 + 70 + 22, 40, "run one", 2));
  CHECK(count_colour(img, 640, 2 * 640, kBlue) > 4 * 16 * 12);  // two evaluations: a line
}

TEST_CASE("an interrupted ptl train still draws curves.png", "[plot][cli][train]") {
  test::TempDir dir;
  const std::string out = dir.path() + "/stopped";
  std::ofstream(dir.path() + "/tiny.yaml") << test::tiny_run_config(out, 500).to_yaml();
  // SIGTERM (as Ctrl-C) once epoch 1 is in metrics.jsonl, long before the 500 epochs end.
  const std::string script = "cd " + dir.path() + " || exit; " + test::ptl_binary() +
                             " train --config tiny.yaml > train.out.txt 2>&1 & pid=$!; "
                             "for i in $(seq 3000); do grep -qs epoch_loss stopped/metrics.jsonl "
                             "&& break; sleep 0.1; done; kill -TERM $pid; wait $pid; echo $?";
  FILE* p = ::popen(script.c_str(), "r");
  REQUIRE(p != nullptr);
  char rc[16] = {};
  CHECK(std::fgets(rc, sizeof rc, p) != nullptr);
  ::pclose(p);
  const std::string log = test::file_text(dir.path() + "/train.out.txt");
  INFO(log);
  CHECK(std::string(rc) == "130\n");
  CHECK_THAT(log, Contains("interrupted at epoch") && Contains("curves: " + out + "/curves.png"));
  const data::Image img = data::load_image(out + "/curves.png");
  CHECK(count_colour(img, 0, 640, kBlue) >= 16 * 12 + 7 * 7);  // the key and epoch 1's point
}
