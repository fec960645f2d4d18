// The same bits on every machine (docs/architecture.md, Determinism), for each recipe family the
// trainer runs. Three short fixed-seed training runs of PTL-ResNet-20 (2 epochs of 3 steps, and
// the evaluation after them) take every value of each axis at least once:
//
//   recipe           optimizer                    task                      images      PTL mode
//   reid_adam_carry  Adam (AMSGrad)               ReID: PK, triplet + CE    3 x 32x16   carry
//   class_sgd_off    SGD, momentum, weight decay  classification: CE        1 x 12x12   off
//   class_sgd_reset  SGD, momentum, weight decay  classification: CE        1 x 12x12   reset
//   reid_adam_carry_bf16  reid_adam_carry in train.precision bf16 (engine/precision.h)
//
// (the classification runs are the Fashion-MNIST study's recipe at a tiny size: flips, 2-pixel
// pad and crop, shuffled batches). Each must give bit-identical losses, weights, buffers, cell
// states and scores on every CPU instruction-set path of this machine at 1, 2, 3 and 7 threads,
// and their SHA-256 must equal the one tests/golden/RECIPE.sha256 records, so every machine, CI's
// included, must reproduce the bits of the machine that wrote the file.
#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

#include "data/image_encode.h"
#include "engine/sha256.h"
#include "isa_scope.h"
#include "layers/bconv_cell.h"
#include "tests/thread_scope.h"
#include "tests/tiny_run.h"
#include "train/trainer.h"

using namespace ptl;

namespace {

// A tiny 1-channel classification set in IDX format (what `data.format: fashion-mnist` reads):
// 5 classes, 40 training and 20 test images of 12x12; each class is a brightness level under a
// pattern that moves with the image index. Written once per test program.
const std::string& tiny_class_root() {
  static test::TempDir dir;
  static const std::string root = [] {
    auto words = [](std::initializer_list<uint32_t> ws) {  // big-endian, as IDX headers are
      std::string b;
      for (uint32_t v : ws)
        for (int shift = 24; shift >= 0; shift -= 8) b += static_cast<char>(v >> shift);
      return b;
    };
    for (const auto& [split, n] : {std::pair<std::string, uint32_t>{"train", 40}, {"t10k", 20}}) {
      std::string images = words({0x803, n, 12, 12}), labels = words({0x801, n});
      for (uint32_t i = 0; i < n; ++i) {
        const uint32_t label = (i * 3) % 5;
        labels += static_cast<char>(label);
        for (uint32_t p = 0; p < 144; ++p)
          images += static_cast<char>(label * 40 + (p * 7 + (p / 12) * 13 + i * 29) % 60);
      }
      data::write_file(dir.path() + "/" + split + "-images-idx3-ubyte", images);
      data::write_file(dir.path() + "/" + split + "-labels-idx1-ubyte", labels);
    }
    return dir.path();
  }();
  return root;
}

// The Fashion-MNIST study's fine-tuning recipe (configs/study_fashion_transfer.yaml: SGD with
// momentum 0.9 and weight decay 1e-4, cross-entropy, flips, pad 2) on the tiny set, batches of 10.
Config tiny_class_config(const std::string& out, const std::string& ptl_mode) {
  Config c;
  for (const char* kv : {"model.name=ptl_resnet20",
                         "data.format=fashion-mnist",
                         "data.height=12",
                         "data.width=12",
                         "data.sampler=shuffle",
                         "data.batch_size=10",
                         "data.flip=0.5",
                         "data.pad=2",
                         "data.erasing=0",
                         "data.workers=2",
                         "optim.name=sgd",
                         "optim.lr=0.01",
                         "optim.momentum=0.9",
                         "optim.weight_decay=1e-4",
                         "loss.kind=ce",
                         "train.max_iters_per_epoch=3",
                         "train.eval_every=0",
                         "train.log_every=100",
                         "train.keep_last=10",
                         "schedule.milestones=[1]"})
    c.apply_override(kv);
  c.set("model.ptl", ptl_mode);
  c.set("data.root", tiny_class_root());
  c.set("train.out", out);
  c.set("train.epochs", "2");
  return c;
}

struct Recipe {
  const char* name;  // its golden file is tests/golden/NAME.sha256
  std::function<Config(const std::string& out)> config;
  bool carries_state;  // PTL carry: BConv-Cell states after the last step to compare
};

const Recipe kRecipes[] = {
    {"reid_adam_carry", [](const std::string& out) { return test::tiny_run_config(out, 2); }, true},
    {"class_sgd_off", [](const std::string& out) { return tiny_class_config(out, "off"); }, false},
    {"class_sgd_reset",
     [](const std::string& out) { return tiny_class_config(out, "reset_every_batch"); }, false},
    {"reid_adam_carry_bf16",
     [](const std::string& out) {
       Config c = test::tiny_run_config(out, 2);
       c.set("train.precision", "bf16");
       return c;
     },
     true},
};

constexpr int64_t kSteps = 6;  // 2 epochs of 3

struct RunBits {
  std::string losses, weights, states, scores;  // raw bytes of each
};

void append(std::string& out, const Tensor& t) {
  const Tensor c = t.to(Device::cpu()).contiguous();
  out.append(static_cast<const char*>(c.raw_data()),
             static_cast<size_t>(c.numel()) * dtype_size(c.dtype()));
}

void append(std::string& out, double v) {
  out.append(reinterpret_cast<const char*>(&v), sizeof v);
}

RunBits tiny_run(const Recipe& recipe, cpu::Isa isa, int threads) {
  test::IsaScope path(isa);
  test::ThreadScope scope(threads);
  test::TempDir dir;
  Trainer t(recipe.config(dir.path() + "/run"));
  RunBits bits;
  t.set_step_hook([&](int64_t step, double loss) {
    append(bits.losses, loss);
    if (step != kSteps) return;  // the states the last step leaves (evaluation resets them)
    for (auto& [name, cell] : bconv_cells(t.model()))
      if (cell->state().defined()) append(bits.states, cell->state());  // none after reset
  });
  const TrainSummary s = t.run();
  for (auto& [name, tensor] : t.model().state_dict()) append(bits.weights, tensor);
  if (s.last.reid)
    for (double v : {s.last.mAP, s.last.rank1, s.last.rank5, s.last.mINP}) append(bits.scores, v);
  else
    append(bits.scores, s.last.accuracy);
  return bits;
}

std::string fingerprint(const RunBits& b) {
  Sha256 h;
  for (const std::string* part : {&b.losses, &b.weights, &b.states, &b.scores})
    h.update(part->data(), part->size());
  return h.hex();
}

std::string golden(const std::string& name) {
  std::ifstream f(std::string(PTL_SOURCE_DIR) + "/tests/golden/" + name + ".sha256");
  std::string hex;
  f >> hex;
  return hex;
}

}  // namespace

TEST_CASE("SHA-256 gives the FIPS 180-4 example digests", "[determinism]") {
  auto digest = [](const std::string& s) {
    Sha256 h;
    h.update(s.data(), s.size());
    return h.hex();
  };
  CHECK(digest("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(digest("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(digest("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  CHECK(digest(std::string(1000000, 'a')) ==
        "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST_CASE(
    "short training runs of each recipe family give their golden bits on every CPU path "
    "at 1, 2, 3 and 7 threads",
    "[determinism][golden]") {
  for (const Recipe& recipe : kRecipes) {
    INFO("recipe " << recipe.name);
    const RunBits first = tiny_run(recipe, cpu::Isa::avx2, 1);
    REQUIRE(first.losses.size() == kSteps * sizeof(double));
    REQUIRE(first.states.empty() == !recipe.carries_state);
    for (const auto isa : test::supported_isas())
      for (int threads : {1, 2, 3, 7}) {
        if (isa == cpu::Isa::avx2 && threads == 1) continue;
        INFO("path " << cpu::isa_name(isa) << ", " << threads << " threads against avx2, 1 thread");
        const RunBits other = tiny_run(recipe, isa, threads);
        CHECK(other.losses == first.losses);
        CHECK(other.weights == first.weights);
        CHECK(other.states == first.states);
        CHECK(other.scores == first.scores);
      }
    const std::string hex = fingerprint(first);
    INFO("this machine's fingerprint is "
         << hex << "; if a change is meant to alter the numbers, write it into tests/golden/"
         << recipe.name << ".sha256 and say why in the commit");
    CHECK(hex == golden(recipe.name));
  }
}
