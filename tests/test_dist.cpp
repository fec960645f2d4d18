// The communicator's collectives (dist/communicator.h). The `dist` ctest group runs these under
// `mpiexec -n 2` (tests/on_mpi.sh); run alone they check the one-process communicator, so they
// hold at any world size.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "dist/communicator.h"
#include "dist/nccl_communicator.h"
#include "engine/device.h"
#include "engine/ops.h"
#include "layers/bconv_cell.h"
#include "layers/convert.h"
#include "models/registry.h"
#include "tests/cuda_test_util.h"
#include "tests/tiny_run.h"
#include "train/checkpoint.h"
#include "train/data_parallel.h"
#include "train/optim.h"
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
  // In place: this rank's values already stand in its block of the result.
  std::vector<int64_t> in_place(all.size(), -1);
  const size_t own = static_cast<size_t>(2 * c.rank());
  std::copy(mine, mine + 2, in_place.begin() + static_cast<std::ptrdiff_t>(own));
  c.all_gather(in_place.data() + own, sizeof(mine), in_place.data());
  CHECK(in_place == all);
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

namespace {
// Adds |got - want|^2 and |want|^2 over the elements of two tensors of one shape.
void add_squares(const ptl::Tensor& got, const ptl::Tensor& want, double& d2, double& w2) {
  const std::vector<double> x = got.to_double_vector(), y = want.to_double_vector();
  REQUIRE(x.size() == y.size());
  for (size_t i = 0; i < x.size(); ++i) {
    d2 += (x[i] - y[i]) * (x[i] - y[i]);
    w2 += y[i] * y[i];
  }
}

// How far `got` is from `want`: |got - want| / |want| (Euclidean norms); a tensor that stays at
// rounding level (|want| < 1e-9, see make_optim) counts as equal when `got` is as near to it.
// Norms, not the largest element: in a bias vector one element's rounding can be an outlier.
double difference(const ptl::Tensor& got, const ptl::Tensor& want) {
  double d2 = 0, w2 = 0;
  add_squares(got, want, d2, w2);
  if (std::sqrt(w2) < 1e-9) return std::sqrt(d2) < 1e-9 ? 0 : 1;
  return std::sqrt(d2 / w2);
}

std::unique_ptr<ptl::Optimizer> make_optim(const std::string& kind, ptl::Model& m) {
  // AMSGrad at the recipes' rate with eps 1e-4 and no weight decay: a parameter whose gradient
  // is zero but for rounding (about 1e-17: the biases of layers whose shift a later batch norm
  // removes) is moved by Adam's g / (sqrt(v) + eps) in steps set by that noise, which no two
  // summation orders share (at eps 1e-8 they reach 1e-7, and L2 decay makes them oscillate and
  // grow 20 times a step, as in PyTorch). A larger eps keeps that noise at rounding level.
  const double lr = kind == "sgd" ? 0.05 : 1e-3, decay = kind == "sgd" ? 5e-4 : 0;
  std::vector<ptl::ParamGroup> g{ptl::ParamGroup{"all", m.parameters(), lr, lr, decay, false}};
  if (kind == "sgd") return std::make_unique<ptl::Sgd>(g, ptl::SgdOptions{0.9, 0, false});
  return std::make_unique<ptl::Adam>(g, ptl::AdamOptions{0.9, 0.999, 1e-4, true, false});
}
}  // namespace

namespace {
// The float64 comparisons: PTL-ResNet-20 with carried BConv-Cell states (a fresh normal draw at
// the first step), 5 steps of cross-entropy on batches of b rows per rank. Every rank computes
// the one-process references itself, so the comparisons need no communication.
constexpr int64_t kRows = 3, kSteps = 5;

struct Batches {
  std::vector<ptl::Tensor> xs, ys;  // the whole batches, W * kRows rows
};

Batches float64_batches(int64_t W) {
  ptl::manual_seed(5);
  Batches d;
  for (int64_t s = 0; s < kSteps; ++s) {
    d.xs.push_back(ptl::randn({W * kRows, 3, 16, 8}).to(ptl::DType::F64));
    std::vector<int64_t> labels;
    for (int64_t i = 0; i < W * kRows; ++i) labels.push_back((i * 5 + s) % 6);
    d.ys.push_back(ptl::from_vector(labels, {W * kRows}));
  }
  return d;
}

std::shared_ptr<ptl::Model> float64_model(const ptl::TensorMap& weights) {
  auto m = ptl::make_model("ptl_resnet20", 6, {});
  m->load_state_dict(weights);
  ptl::convert_floats(*m, ptl::DType::F64);
  m->train();
  return m;
}

ptl::Tensor rows_of(const ptl::Tensor& t, int64_t rank) {
  return ptl::narrow(t, 0, rank * kRows, kRows).contiguous();
}

struct Trained {
  std::vector<double> losses;       // the whole batch's loss at each step
  ptl::TensorMap state;             // parameters and batch norm statistics at the end
  std::vector<ptl::Tensor> states;  // the carried cell states of the rank's rows
};

// The data-parallel run: this rank's rows of every batch, batch norm synchronised or per rank
// (then rank 0's statistics copied to all after each step, as the trainer does).
Trained train_ranks(Communicator& c, const std::string& kind, const Batches& d, bool sync_bn,
                    const ptl::TensorMap& init) {
  const int64_t W = c.size(), r = c.rank();
  auto model = float64_model(init);
  auto opt = make_optim(kind, *model);
  ptl::DataParallel dp(c, *model);
  if (sync_bn) dp.synchronise_batch_norm();
  const auto cells = ptl::bconv_cells(*model);
  for (auto& [name, cell] : cells) cell->set_batch_rows(r * kRows, W * kRows);
  Trained t;
  ptl::manual_seed(9);  // the fresh states' draw, the same in every run
  for (int64_t s = 0; s < kSteps; ++s) {
    ptl::Tensor loss =
        ptl::cross_entropy(model->forward(rows_of(d.xs[s], r)).logits[0], rows_of(d.ys[s], r));
    opt->zero_grad();
    dp.prepare_gradients(1.0 / static_cast<double>(W));
    loss.backward();
    dp.reduce_gradients();
    opt->step();
    if (!sync_bn) dp.broadcast_buffers();
    std::vector<double> global{loss.item()};
    dp.weighted_sum(global, 1.0 / static_cast<double>(W));
    t.losses.push_back(global[0]);
  }
  t.state = model->state_dict();
  for (auto& [name, cell] : cells) t.states.push_back(cell->state());
  return t;
}

// One process on the whole batch: what W ranks with dist.sync_bn must give.
Trained train_whole_batch(const std::string& kind, const Batches& d, int64_t rank,
                          const ptl::TensorMap& init) {
  auto model = float64_model(init);
  auto opt = make_optim(kind, *model);
  Trained t;
  ptl::manual_seed(9);
  for (int64_t s = 0; s < kSteps; ++s) {
    ptl::Tensor loss = ptl::cross_entropy(model->forward(d.xs[s]).logits[0], d.ys[s]);
    opt->zero_grad();
    loss.backward();
    opt->step();
    t.losses.push_back(loss.item());
  }
  t.state = model->state_dict();
  for (auto& [name, cell] : ptl::bconv_cells(*model))
    t.states.push_back(rows_of(cell->state(), rank));
  return t;
}

// One process with W replicas of the model, each on one shard with its own batch norm
// statistics and carried states, their gradients averaged into replica 0, which steps, and
// whose parameters and statistics the others then take: what W ranks without sync_bn must give.
Trained train_replicas(const std::string& kind, const Batches& d, int64_t W, int64_t rank,
                       const ptl::TensorMap& init) {
  std::vector<std::shared_ptr<ptl::Model>> replicas;
  for (int64_t q = 0; q < W; ++q) replicas.push_back(float64_model(init));
  auto opt = make_optim(kind, *replicas[0]);
  const double share = 1.0 / static_cast<double>(W);
  Trained t;
  ptl::manual_seed(9);
  for (int64_t s = 0; s < kSteps; ++s) {
    double loss = 0;
    // Every rank's cells draw from the generator as it stands at the step's start.
    const uint64_t seed = ptl::default_generator().seed(),
                   offset = ptl::default_generator().offset();
    for (int64_t q = 0; q < W; ++q) {
      ptl::default_generator().set_state(seed, offset);
      for (auto& [name, cell] : ptl::bconv_cells(*replicas[q]))
        cell->set_batch_rows(q * kRows, W * kRows);
      for (ptl::Tensor& p : replicas[q]->parameters()) p.zero_grad();
      ptl::Tensor l = ptl::cross_entropy(replicas[q]->forward(rows_of(d.xs[s], q)).logits[0],
                                         rows_of(d.ys[s], q));
      l.backward();
      loss += share * l.item();
    }
    std::vector<ptl::Tensor> params0 = replicas[0]->parameters();
    for (size_t j = 0; j < params0.size(); ++j) {
      ptl::Tensor sum = ptl::mul(params0[j].grad(), share);
      for (int64_t q = 1; q < W; ++q)
        sum = ptl::add(sum, ptl::mul(replicas[q]->parameters()[j].grad(), share));
      ptl::Tensor g = params0[j].grad();
      ptl::copy_(g, sum);
    }
    opt->step();
    for (int64_t q = 1; q < W; ++q) replicas[q]->load_state_dict(replicas[0]->state_dict());
    t.losses.push_back(loss);
  }
  t.state = replicas[0]->state_dict();
  for (auto& [name, cell] : ptl::bconv_cells(*replicas[rank])) t.states.push_back(cell->state());
  return t;
}

void check_same_run(const Trained& got, const Trained& want) {
  for (int64_t s = 0; s < kSteps; ++s) {
    INFO("step " << s << ": ranks " << got.losses[s] << ", one process " << want.losses[s]);
    CHECK(std::abs(got.losses[s] - want.losses[s]) <= 1e-12 * std::abs(want.losses[s]));
  }
  for (const auto& [name, t] : want.state) {  // parameters and batch norm statistics
    if (t.dtype() != ptl::DType::F64) continue;
    const double e = difference(got.state.at(name), t);
    INFO(name << ": relative difference " << e);
    CHECK(e <= 1e-12);
  }
  REQUIRE(got.states.size() == want.states.size());
  REQUIRE_FALSE(want.states.empty());
  for (size_t i = 0; i < want.states.size(); ++i) {  // this rank's rows of the carried states
    INFO("cell " << i);
    CHECK(difference(got.states[i], want.states[i]) <= 1e-12);
  }
}
}  // namespace

TEST_CASE("float64 with dist.sync_bn: W ranks x batch b train as 1 process x batch W b", "[dist]") {
  Communicator& c = ptl::dist::world();
  const Batches d = float64_batches(c.size());
  const ptl::TensorMap init = ptl::make_model("ptl_resnet20", 6, {})->state_dict();
  for (const std::string kind : {"sgd", "adam"}) {
    INFO("optimizer " << kind << ", rank " << c.rank() << " of " << c.size());
    check_same_run(train_ranks(c, kind, d, true, init), train_whole_batch(kind, d, c.rank(), init));
  }
}

TEST_CASE("float64 without sync_bn: W ranks train as W replicas of one process, a shard each",
          "[dist]") {
  Communicator& c = ptl::dist::world();
  const Batches d = float64_batches(c.size());
  const ptl::TensorMap init = ptl::make_model("ptl_resnet20", 6, {})->state_dict();
  for (const std::string kind : {"sgd", "adam"}) {
    INFO("optimizer " << kind << ", rank " << c.rank() << " of " << c.size());
    check_same_run(train_ranks(c, kind, d, false, init),
                   train_replicas(kind, d, c.size(), c.rank(), init));
  }
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

  // dist.sync_bn through the trainer: the ranks still agree, and the statistics are others.
  ptl::Config synced_cfg = config(dir + "/sync");
  synced_cfg.set("dist.sync_bn", "true");
  ptl::Trainer synced(synced_cfg);
  synced.run();
  const uint64_t synced_bits = bits_hash(synced.model().state_dict());
  for (uint64_t h : gathered(c, synced_bits)) CHECK(h == synced_bits);
  if (c.size() > 1) CHECK(synced_bits != first);

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

namespace {
// The carried states' rows in another order: rank 1's rows first (a checkpoint whose rows a
// resume would hand to the wrong ranks).
void swap_state_halves(const std::string& from, const std::string& to) {
  ptl::Checkpoint ck = ptl::load_checkpoint(from);
  REQUIRE_FALSE(ck.states.empty());
  for (auto& [name, st] : ck.states) {
    const int64_t half = st.size(0) / 2;
    st = ptl::cat({ptl::narrow(st, 0, half, half), ptl::narrow(st, 0, 0, half)}, 0);
  }
  ptl::save_checkpoint(to, ck);
}

// |got - want| / |want| over all float32 parameters and statistics of two state dicts, as one
// vector: a parameter whose gradient is zero in exact arithmetic (a bias before batch norm)
// moves by rounding noise alone, so a per-tensor relative difference would measure the noise.
double relative_distance(const ptl::TensorMap& got, const ptl::TensorMap& want) {
  double d2 = 0, w2 = 0;
  for (const auto& [name, t] : want)
    if (t.dtype() == ptl::DType::F32) add_squares(got.at(name), t, d2, w2);
  return std::sqrt(d2 / w2);
}
}  // namespace

// With dist.sync_bn, cross-entropy and SGD, W processes and one compute the same steps up to
// the rounding of their sums, so a mid-epoch checkpoint of either, resumed by the other, must
// end where the uninterrupted run of its writer ends, to float32 rounding.
TEST_CASE("a mid-epoch checkpoint resumes at another number of processes", "[dist]") {
  Communicator& c = ptl::dist::world();
  if (c.size() < 2) PTL_SKIP("needs 2 or more MPI processes (tests/on_mpi.sh)");
  ptl::test::TempDir own;
  const std::string dir = shared_reid_data(c, own);
  const std::unique_ptr<Communicator> one = ptl::dist::single_process();
  // Trains 2 epochs of 3 steps; `stop`: stops after step 4 (epoch 2, iteration 1), a
  // checkpoint with carried BConv-Cell states. Ranks other than 0 skip a one-process run.
  auto train = [&](Communicator& comm, const std::string& out, const std::string& resume,
                   bool stop) {
    ptl::TensorMap state;
    if (comm.size() == 1 && c.rank() != 0) return state;
    ptl::Config cfg = ptl::test::tiny_run_config(dir + "/" + out, 2);
    cfg.set("data.root", dir + "/synth");
    cfg.set("data.p", std::to_string(2 * c.size()));  // the same global batch at any size
    cfg.set("dist.sync_bn", "true");
    cfg.set("loss.kind", "ce");    // batch-hard mining differs in a shard; cross-entropy does not
    cfg.set("optim.name", "sgd");  // Adam makes rounding noise in near-zero gradients lr steps
    cfg.set("optim.lr", "0.05");
    ptl::Trainer t(cfg, resume, comm);
    if (stop)
      t.set_step_hook([&](int64_t step, double) {
        if (step == 4) ptl::Trainer::request_stop();
      });
    const ptl::TrainSummary sum = t.run();
    CHECK(sum.interrupted == stop);
    return t.model().state_dict();
  };
  // Written by W processes, resumed by one.
  const ptl::TensorMap whole_w = train(c, "w", "", false);
  train(c, "w_stopped", "", true);
  const ptl::TensorMap resumed_1 = train(*one, "w_stopped", "auto", false);
  // Written by one process, resumed by W.
  const ptl::TensorMap whole_1 = train(*one, "one", "", false);
  train(*one, "one_stopped", "", true);
  const ptl::TensorMap resumed_w = train(c, "one_stopped", "auto", false);
  if (c.rank() != 0) return;  // the one-process results are rank 0's
  // Two steps after the resume, 1 to 3 x 10^-7 here. (Whole runs of 1 and W processes drift
  // apart about tenfold a step from 3 x 10^-8 after the first, rounding growing in training.)
  CHECK(relative_distance(resumed_w, whole_1) <= 1e-5);
  CHECK(relative_distance(resumed_1, whole_w) <= 1e-5);

  // The check can fail: the same checkpoint with its state rows swapped ends elsewhere.
  const std::string ckpt = dir + "/w_stopped/" + ptl::checkpoint_name(1, 4);
  fs::create_directories(dir + "/swapped");
  swap_state_halves(ckpt, dir + "/swapped/" + fs::path(ckpt).filename().string());
  const ptl::TensorMap swapped = train(*one, "swapped", "auto", false);
  CHECK(relative_distance(swapped, whole_w) > 1e-3);  // 3.5 x 10^-3 here
}

TEST_CASE("ranks started with different configs refuse to train, naming the key", "[dist]") {
  Communicator& c = ptl::dist::world();
  // One process cannot disagree with itself.
  if (c.size() < 2) PTL_SKIP("needs 2 or more MPI processes (tests/on_mpi.sh)");
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

TEST_CASE("the gradient sum takes each parameter's whole gradient and names one left out",
          "[dist]") {
  Communicator& c = ptl::dist::world();
  auto model = ptl::make_model("ptl_resnet20", 6, {});
  model->train();
  ptl::DataParallel dp(c, *model);
  dp.broadcast_model();
  ptl::manual_seed(11 + static_cast<uint64_t>(c.rank()));  // each rank its own rows
  const ptl::Tensor images = ptl::randn({2, 3, 32, 16});
  const ptl::Tensor labels = ptl::from_vector(std::vector<int64_t>{c.rank() % 6, 5}, {2});
  const double share = 1.0 / static_cast<double>(c.size());
  // The classifier's weight (the last matrix) enters the loss three times: the logits and both
  // sides of the penalty's product, so backward adds three gradients into it, calling its hook
  // each time.
  std::string name_w;
  ptl::Tensor w;
  for (auto& [name, p] : model->named_parameters())
    if (p.dim() == 2) {
      name_w = name;
      w = p;
    }
  dp.prepare_gradients(share);
  const ptl::Tensor penalty = ptl::mul(ptl::sum(ptl::mul(w, w)), 10.0);
  ptl::add(ptl::cross_entropy(model->forward(images).logits[0], labels), penalty).backward();
  ptl::TensorMap want;  // sum over ranks of share * this rank's gradient, in rank order
  for (auto& [name, p] : model->named_parameters()) {
    ptl::Tensor g = ptl::mul(p.grad(), share).contiguous();
    ptl::dist::sum_in_rank_order(c, g.data<float>(), g.numel());
    want[name] = g;
  }
  dp.reduce_gradients();
  for (auto& [name, p] : model->named_parameters()) {  // bit for bit: the same products and sums
    INFO(name);
    CHECK(p.grad().contiguous().to_vector() == want.at(name).to_vector());
  }
  // The penalty's part of w's summed gradient (20 w on every rank) is not small: a sum that
  // kept only the first of the three would be far off.
  CHECK(difference(ptl::sub(want.at(name_w), ptl::mul(w, 20.0)), want.at(name_w)) > 1e-2);

  // A loss that leaves the classifier out: every rank stops before any collective.
  dp.prepare_gradients(share);
  ptl::sum(model->forward(images).feature).backward();
  CHECK_THROWS_WITH(dp.reduce_gradients(),
                    Catch::Contains(name_w) && Catch::Contains("received no gradient"));
  ptl::dist::any_rank(c, false);
}

TEST_CASE("NCCL at world size 1: collectives and the gradient sum keep plain CUDA's bits",
          "[dist][cuda]") {
  if (!ptl::dist::nccl_compiled()) PTL_SKIP("built without NCCL");
  PTL_SKIP_WITHOUT_GPU();
  const ptl::Device gpu = ptl::Device::cuda(0);
  auto one = ptl::dist::single_process();
  auto nccl = ptl::dist::nccl_communicator(*one, 0);
  CHECK(nccl->memory() == gpu);
  // The rank-order sum on the GPU (all-to-all, the slice sum, all-gather) of one rank.
  ptl::manual_seed(3);
  const ptl::Tensor x = ptl::randn({1001}).to(gpu);
  ptl::Tensor y = x.clone();
  ptl::dist::sum_in_rank_order(*nccl, y);
  CHECK(bits_hash({{"y", y.to(ptl::Device::cpu())}}) ==
        bits_hash({{"y", x.to(ptl::Device::cpu())}}));
  // A CUDA model's gradients through DataParallel (NCCL buckets, share 1): unchanged.
  auto model = ptl::make_model("ptl_resnet20", 6, {});
  model->to(gpu);
  model->train();
  const ptl::Tensor images = ptl::randn({4, 3, 32, 16}).to(gpu);
  const ptl::Tensor labels = ptl::from_vector(std::vector<int64_t>{0, 1, 2, 3}, {4}).to(gpu);
  ptl::DataParallel dp(*one, *model);
  dp.prepare_gradients(1.0);
  ptl::cross_entropy(model->forward(images).logits[0], labels).backward();
  ptl::TensorMap before;
  for (auto& [name, p] : model->named_parameters())
    if (p.grad().defined()) before[name] = p.grad().to(ptl::Device::cpu());
  dp.reduce_gradients();
  ptl::TensorMap after;
  for (auto& [name, p] : model->named_parameters())
    if (p.grad().defined()) after[name] = p.grad().to(ptl::Device::cpu());
  REQUIRE(after.size() == before.size());
  CHECK(bits_hash(after) == bits_hash(before));
}

TEST_CASE(
    "NCCL at world size 1: dist.sync_bn on CUDA gives plain CUDA batch norm and the CPU's "
    "sync_bn",
    "[dist][cuda]") {
  if (!ptl::dist::nccl_compiled()) PTL_SKIP("built without NCCL");
  PTL_SKIP_WITHOUT_GPU();
  const ptl::Device gpu = ptl::Device::cuda(0), cpu = ptl::Device::cpu();
  auto one = ptl::dist::single_process();
  const ptl::TensorMap init = ptl::make_model("ptl_resnet20", 6, {})->state_dict();
  ptl::manual_seed(5);
  // 16 x 64 x 32 values a channel in the first stage: 8 slices a channel for the split kernels.
  const ptl::Tensor images = ptl::randn({16, 3, 64, 32}).to(ptl::DType::F64);
  std::vector<int64_t> ids;
  for (int64_t i = 0; i < 16; ++i) ids.push_back(i % 6);
  const ptl::Tensor labels = ptl::from_vector(ids, {16});
  // One float64 forward and backward of PTL-ResNet-20: the logits, the parameters' gradients and
  // the batch norms' running statistics, on the host.
  auto step = [&](ptl::Device device, bool sync, bool split) {
    auto model = float64_model(init);
    model->to(device);
    ptl::DataParallel dp(*one, *model);
    if (sync) dp.synchronise_batch_norm();
    ptl::set_split_batchnorm(split);
    ptl::manual_seed(9);  // the BConv-Cells' fresh states
    const ptl::Tensor logits = model->forward(images.to(device)).logits[0];
    ptl::cross_entropy(logits, labels.to(device)).backward();
    ptl::set_split_batchnorm(false);
    ptl::TensorMap out{{"logits", logits.detach().to(cpu)}};
    for (auto& [name, p] : model->named_parameters())
      if (p.grad().defined()) out["grad " + name] = p.grad().to(cpu);
    for (auto& [name, b] : model->named_buffers())
      if (b.dtype() == ptl::DType::F64) out[name] = b.to(cpu);
    return out;
  };
  auto check_near = [](const ptl::TensorMap& got, const ptl::TensorMap& want, double bound) {
    REQUIRE(got.size() == want.size());
    for (const auto& [name, t] : want) {
      const double e = difference(got.at(name), t);
      INFO(name << ": relative difference " << e << ", bound " << bound);
      CHECK(e <= bound);
    }
  };
  // Statistics and gradient sums through NCCL's all-gather and the host's rank-order combine.
  // At world size 1 it computes plain batch norm's answer in other orders of the same double
  // sums (the combine (M mean) / M, the slices of the gradient sums), which the deep model
  // magnifies as it does the CPU's orders: the float64 CUDA model bound, 1e-9 (test_cuda_ops.cpp,
  // passed on the GPU), for every comparison; the bits must repeat exactly.
  const double bound = 1e-9;
  const ptl::TensorMap synced = step(gpu, true, false);
  {
    INFO("dist.sync_bn on CUDA against plain CUDA batch norm");
    check_near(synced, step(gpu, false, false), bound);
  }
  {
    INFO("dist.sync_bn on CUDA against the CPU's");
    check_near(synced, step(cpu, true, false), bound);
  }
  // The split statistics kernels under sync_bn: another order again.
  const ptl::TensorMap split = step(gpu, true, true);
  {
    INFO("dist.sync_bn with the split batch-norm kernels against without");
    check_near(split, synced, bound);
  }
  CHECK(bits_hash(step(gpu, true, true)) == bits_hash(split));
  CHECK(bits_hash(step(gpu, true, false)) == bits_hash(synced));
}
