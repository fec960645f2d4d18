// The same bits on every machine (docs/architecture.md, Determinism): a short fixed-seed training
// run (PTL-ResNet-20, carried BConv-Cell states, Adam with AMSGrad, flips and random erasing,
// 2 epochs of 3 steps, and the evaluation after them) on every CPU instruction-set path of this
// machine at 1 and 2 threads gives bit-identical losses, weights, buffers, cell states and
// scores; and their SHA-256 equals the one tests/golden/tiny_run.sha256 records, so every
// machine, CI's included, must reproduce the bits of the machine that wrote the file.
#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

#include "engine/sha256.h"
#include "isa_scope.h"
#include "layers/bconv_cell.h"
#include "tests/thread_scope.h"
#include "tests/tiny_run.h"
#include "train/trainer.h"

using namespace ptl;

namespace {

struct RunBits {
  std::string losses, weights, states, scores;  // raw bytes of each
};

void append(std::string& out, const Tensor& t) {
  const Tensor c = t.to(Device::cpu()).contiguous();
  out.append(static_cast<const char*>(c.raw_data()),
             static_cast<size_t>(c.numel()) * dtype_size(c.dtype()));
}

RunBits tiny_run(cpu::Isa isa, int threads) {
  test::IsaScope path(isa);
  test::ThreadScope scope(threads);
  test::TempDir dir;
  Trainer t(test::tiny_run_config(dir.path() + "/run", 2));
  RunBits bits;
  t.set_step_hook([&](int64_t step, double loss) {
    bits.losses.append(reinterpret_cast<const char*>(&loss), sizeof loss);
    if (step != 6) return;  // the states the last step leaves (evaluation resets them)
    for (auto& [name, cell] : bconv_cells(t.model())) append(bits.states, cell->state());
  });
  const TrainSummary s = t.run();
  for (auto& [name, tensor] : t.model().state_dict()) append(bits.weights, tensor);
  for (double v : {s.last.mAP, s.last.rank1, s.last.rank5, s.last.mINP})
    bits.scores.append(reinterpret_cast<const char*>(&v), sizeof v);
  return bits;
}

std::string fingerprint(const RunBits& b) {
  Sha256 h;
  for (const std::string* part : {&b.losses, &b.weights, &b.states, &b.scores})
    h.update(part->data(), part->size());
  return h.hex();
}

std::string golden() {
  std::ifstream f(std::string(PTL_SOURCE_DIR) + "/tests/golden/tiny_run.sha256");
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

TEST_CASE("a short training run gives the golden bits on every CPU path at 1 and 2 threads",
          "[determinism][golden]") {
  const RunBits first = tiny_run(cpu::Isa::avx2, 1);
  REQUIRE(first.losses.size() == 6 * sizeof(double));
  REQUIRE(!first.states.empty());
  for (const auto isa : test::supported_isas())
    for (int threads : {1, 2}) {
      if (isa == cpu::Isa::avx2 && threads == 1) continue;
      INFO("path " << cpu::isa_name(isa) << ", " << threads << " threads against avx2, 1 thread");
      const RunBits other = tiny_run(isa, threads);
      CHECK(other.losses == first.losses);
      CHECK(other.weights == first.weights);
      CHECK(other.states == first.states);
      CHECK(other.scores == first.scores);
    }
  const std::string hex = fingerprint(first);
  INFO("this machine's fingerprint is "
       << hex
       << "; if a change is meant to alter the numbers, "
          "write it into tests/golden/tiny_run.sha256 and say why in the commit");
  CHECK(hex == golden());
}
