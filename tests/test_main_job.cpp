// The main job as the user runs it: `ptl selfcheck` and a short `ptl demo` (16 identities, one
// pre-training epoch, two fine-tuning epochs), through the binary. The demo's table must hold its
// six rows in order, each with 0 < mAP <= 100 and Rank-1 <= Rank-5 <= 100, a time only where the
// row trained, and the run must leave its curves PNG and each fine-tuning run's metrics. Tagged
// [main_job]: its own ctest group (main_job), about 70 s of CPU.
#include <catch2/catch.hpp>

#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "data/file_util.h"
#include "tests/test_util.h"

namespace {

struct TableRow {
  std::string name;
  double map, rank1, rank5, seconds;
};

// The rows of the demo's table: "<name> <mAP>% <Rank-1>% <Rank-5>% <seconds>s".
std::vector<TableRow> table_rows(const std::string& out) {
  static const std::regex row(R"(^(.*\S)\s+([0-9.]+)%\s+([0-9.]+)%\s+([0-9.]+)%\s+([0-9.]+)s)");
  std::vector<TableRow> rows;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) {
    std::smatch m;
    if (std::regex_search(line, m, row))
      rows.push_back({m[1], std::stod(m[2]), std::stod(m[3]), std::stod(m[4]), std::stod(m[5])});
  }
  return rows;
}

}  // namespace

TEST_CASE("ptl selfcheck trains its tiny network and reports the loss falling", "[main_job]") {
  const auto r = ptl::test::run_ptl("selfcheck");
  INFO(r.out);
  CHECK(r.rc == 0);
  CHECK_THAT(r.out, Catch::Contains("falling, engine OK"));
}

TEST_CASE("a short ptl demo prints its table of six runs and writes the curves", "[main_job]") {
  ptl::test::TempDir dir;
  const auto r = ptl::test::run_ptl("demo --ids 16 --pretrain-epochs 1 --finetune-epochs 2 --out " +
                                    dir.path() + "/demo");
  INFO(r.out);
  REQUIRE(r.rc == 0);
  const std::vector<TableRow> rows = table_rows(r.out);
  const std::vector<std::string> names = {"pre-train on source (baseline model)",
                                          "untrained model on target",
                                          "source model on target, no fine-tuning",
                                          "fine-tune, plain",
                                          "fine-tune, PTL carry",
                                          "fine-tune, PTL reset-every-batch"};
  REQUIRE(rows.size() == names.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    const TableRow& row = rows[i];
    INFO(row.name);
    CHECK(row.name == names[i]);
    CHECK(row.map > 0);  // every query has a match in the gallery: mAP cannot be 0
    CHECK(row.map <= 100);
    CHECK(row.rank1 <= row.rank5);  // CMC is non-decreasing
    CHECK(row.rank5 <= 100);
    // Only the trained rows take time; the two evaluations of fixed models print 0.
    CHECK((row.seconds > 0) == (i == 0 || i >= 3));
  }
  // The curves: a PNG of the three fine-tuning runs.
  const std::string png = ptl::data::read_file(dir.path() + "/demo/curves.png");
  CHECK(png.size() > 1000);
  CHECK(png.compare(0, 8, "\x89PNG\r\n\x1a\n") == 0);
  for (const char* run : {"finetune_off", "finetune_carry", "finetune_reset_every_batch"})
    CHECK(ptl::data::read_file(dir.path() + "/demo/" + run + "/metrics.jsonl").size() > 0);
}
