// The communicator's collectives (dist/communicator.h). The `dist` ctest group runs these under
// `mpiexec -n 2` (tests/on_mpi.sh); run alone they check the one-process communicator, so they
// hold at any world size.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <vector>

#include "dist/communicator.h"
#include "engine/ops.h"
#include "layers/bconv_cell.h"
#include "tests/tiny_run.h"
#include "train/checkpoint.h"
#include "train/trainer.h"

using ptl::dist::Communicator;
namespace fs = std::filesystem;

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

namespace {
uint64_t bits_hash(const ptl::TensorMap& m, uint64_t h = 1469598103934665603ull) {
  for (const auto& [name, t] : m) {
    const ptl::Tensor c = t.contiguous();
    const auto* p = static_cast<const unsigned char*>(c.raw_data());
    for (size_t i = 0; i < static_cast<size_t>(c.numel()) * ptl::dtype_size(c.dtype()); ++i)
      h = (h ^ p[i]) * 1099511628211ull;
  }
  return h;
}

// A tiny ReID set in rank 0's temporary folder, which every rank uses (its path is broadcast).
std::string shared_reid_data(Communicator& c, const ptl::test::TempDir& own) {
  const std::string dir = ptl::dist::broadcast_text(c, own.path());
  if (c.rank() == 0) {
    ptl::data::SynthOptions so;
    so.out = dir + "/synth";
    so.ids = 12;
    so.seed = 3;
    so.height = 32;
    so.width = 16;
    ptl::data::write_synth_reid(so);
  }
  ptl::dist::any_rank(c, false);  // the others wait for the data
  return dir;
}

// Every rank's value, in rank order.
std::vector<uint64_t> gathered(Communicator& c, uint64_t v) {
  std::vector<uint64_t> all(static_cast<size_t>(c.size()));
  c.all_gather(&v, sizeof v, all.data());
  return all;
}
}  // namespace

TEST_CASE("a fresh state of a batch shard is those rows of the whole batch's state", "[dist]") {
  // One process: a cell told it holds rows [2, 5) of 6 draws what a cell of the whole batch
  // draws for those rows, and both generators end at the same offset.
  ptl::BConvCellSpec spec;
  spec.in = 3;
  spec.out = 2;
  spec.mode = ptl::StateMode::ResetEveryBatch;
  ptl::Generator whole_rng(7), shard_rng(7);
  ptl::BConvCell whole(spec, &whole_rng), shard(spec, &shard_rng);
  shard.gates->weight = whole.gates->weight;  // the same gates: outputs differ by state only
  shard.set_batch_rows(2, 6);
  ptl::Tensor x = ptl::randn({6, 3, 4, 4});
  const ptl::Tensor all = whole.forward(x);
  const ptl::Tensor part = shard.forward(ptl::narrow(x, 0, 2, 3).contiguous());
  CHECK(whole_rng.offset() == shard_rng.offset());
  const ptl::Tensor want = ptl::narrow(all, 0, 2, 3).contiguous();
  REQUIRE(part.numel() == want.numel());
  CHECK(std::memcmp(part.raw_data(), want.raw_data(), sizeof(float) * part.numel()) == 0);
}

TEST_CASE("ranks train as one job: the same bits on every rank, run after run", "[dist]") {
  Communicator& c = ptl::dist::world();
  ptl::test::TempDir own;
  const std::string dir = shared_reid_data(c, own);
  auto config = [&](const std::string& out) {
    ptl::Config cfg = ptl::test::tiny_run_config(out, 2);
    cfg.set("data.root", dir + "/synth");
    cfg.set("data.p", std::to_string(2 * c.size()));  // 2 identities per rank for the triplet
    return cfg;
  };
  auto train = [&](const std::string& out) {
    ptl::Trainer t(config(out));
    t.run();
    return std::pair{bits_hash(t.model().state_dict()), t.model().state_dict().size()};
  };
  const auto [first, tensors] = train(dir + "/a");
  const auto [second, unused] = train(dir + "/b");
  CHECK(tensors > 10);
  for (uint64_t h : gathered(c, first)) CHECK(h == first);  // every rank, every parameter
  CHECK(second == first);                                   // and again

  // Stopped mid-epoch by rank 0 alone (every rank stops after the same step), then resumed.
  ptl::Trainer stopped(config(dir + "/s"));
  stopped.set_step_hook([&](int64_t step, double) {
    if (step == 4 && c.rank() == 0) ptl::Trainer::request_stop();  // epoch 2, iteration 1 of 3
  });
  const ptl::TrainSummary ss = stopped.run();
  CHECK(ss.interrupted);
  CHECK(ss.steps == 4);
  if (c.rank() == 0) {  // the checkpoint holds the carried states of the whole batch
    const ptl::Checkpoint ck = ptl::load_checkpoint(ss.last_checkpoint);
    REQUIRE_FALSE(ck.states.empty());
    CHECK(ck.states.begin()->second.size(0) == 2 * 2 * c.size());  // P x K rows
  }
  ptl::dist::any_rank(c, false);
  ptl::Trainer resumed(config(dir + "/s"), "auto");
  CHECK_FALSE(resumed.run().interrupted);
  CHECK(bits_hash(resumed.model().state_dict()) == first);
  if (c.rank() == 0) {
    CHECK(fs::exists(dir + "/a/train.log"));
    CHECK(ptl::list_checkpoints(dir + "/a").size() == 2);
  }
  ptl::dist::any_rank(c, false);  // rank 0's folder goes only when every rank is done
}

TEST_CASE("ranks started with different configs refuse to train, naming the key", "[dist]") {
  Communicator& c = ptl::dist::world();
  if (c.size() < 2) return;  // one process cannot disagree with itself
  ptl::test::TempDir own;
  const std::string dir = shared_reid_data(c, own);
  ptl::Config cfg = ptl::test::tiny_run_config(dir + "/run", 1);
  cfg.set("data.root", dir + "/synth");
  cfg.set("data.p", "4");
  if (c.rank() == 1) cfg.set("optim.lr", "0.002");
  try {
    ptl::Trainer t(cfg);
    FAIL("the trainer started");
  } catch (const ptl::Error& e) {
    if (c.rank() == 1) CHECK_THAT(e.what(), Catch::Contains("lr: 0.002"));
    CHECK_THAT(e.what(), Catch::Contains("different configs"));
  }
  ptl::dist::any_rank(c, false);
}
