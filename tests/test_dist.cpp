// The communicator's collectives (dist/communicator.h). The `dist` ctest group runs these under
// `mpiexec -n 2` (tests/on_mpi.sh); run alone they check the one-process communicator, so they
// hold at any world size.
#include <catch2/catch.hpp>
#include <cmath>
#include <vector>

#include "dist/communicator.h"

using ptl::dist::Communicator;

namespace {
// Rank r's value of element i: magnitudes far apart, so the order of the additions shows in
// the rounding.
double value(int r, int64_t i) {
  return std::ldexp(1.0 + 0.1 * static_cast<double>(i), 40 * (r % 2)) * (r % 3 == 2 ? -1 : 1) +
         0.3 * r;
}
}  // namespace

TEST_CASE("sums over ranks add in rank order, for any length", "[dist][collectives]") {
  Communicator& c = ptl::dist::world();
  for (int64_t n : {0, 1, 7, 1000}) {
    std::vector<double> d(static_cast<size_t>(n));
    std::vector<float> f(d.size());
    for (int64_t i = 0; i < n; ++i) {
      d[static_cast<size_t>(i)] = value(c.rank(), i);
      f[static_cast<size_t>(i)] = static_cast<float>(value(c.rank(), i));
    }
    ptl::dist::sum_in_rank_order(c, d.data(), n);
    ptl::dist::sum_in_rank_order(c, f.data(), n);
    for (int64_t i = 0; i < n; ++i) {
      double want = value(0, i);
      float want_f = static_cast<float>(value(0, i));
      for (int r = 1; r < c.size(); ++r) {
        want += value(r, i);
        want_f += static_cast<float>(value(r, i));
      }
      INFO("n " << n << ", element " << i << ", rank " << c.rank() << " of " << c.size());
      CHECK(d[static_cast<size_t>(i)] == want);  // bit for bit
      CHECK(f[static_cast<size_t>(i)] == want_f);
    }
  }
}

TEST_CASE("all_gather, broadcast and any_rank", "[dist][collectives]") {
  Communicator& c = ptl::dist::world();
  const int w = c.size();
  REQUIRE(c.rank() < w);
  REQUIRE(c.local_rank() <= c.rank());
  const int64_t mine[2] = {c.rank(), 100 + c.rank()};
  std::vector<int64_t> all(static_cast<size_t>(2 * w));
  c.all_gather(mine, sizeof(mine), all.data());
  for (int r = 0; r < w; ++r) {
    CHECK(all[static_cast<size_t>(2 * r)] == r);
    CHECK(all[static_cast<size_t>(2 * r + 1)] == 100 + r);
  }
  double root_value = c.rank() == 0 ? 2.5 : -1.0;
  c.broadcast(&root_value, sizeof(root_value), 0);
  CHECK(root_value == 2.5);
  CHECK(ptl::dist::any_rank(c, c.rank() == w - 1));
  CHECK_FALSE(ptl::dist::any_rank(c, false));
}

TEST_CASE("the one-process communicator", "[dist]") {
  auto c = ptl::dist::single_process();
  CHECK(c->size() == 1);
  CHECK(c->name() == "single");
  float x[3] = {1, 2, 3};
  ptl::dist::sum_in_rank_order(*c, x, 3);
  CHECK((x[0] == 1 && x[1] == 2 && x[2] == 3));
  CHECK(ptl::dist::any_rank(*c, true));
}
