// The host-side key and cache of the cuDNN convolution plans (kernels/cuda/conv_plan_cache.h):
// every field that changes the descriptors or the algorithm must change the key; and the rules
// that filter cuDNN's backend engines (kernels/cuda/conv_engine_rules.h).
#include <catch2/catch.hpp>

#include <memory>
#include <utility>
#include <vector>

#include "kernels/cuda/conv_engine_rules.h"
#include "kernels/cuda/conv_plan_cache.h"

using ptl::ConvGeometry;
using ptl::DType;
using ptl::cuda::ConvPlanKey;
using ptl::cuda::ConvPlanKeyHash;

namespace {
ConvGeometry base() {
  return {8, 64, 32, 16, 128, 3, 3, 1, 1, 1, 1, 1, 1, 32, 16};
}
}  // namespace

TEST_CASE("conv plan keys tell apart every field of the geometry", "[conv_plan]") {
  const ConvPlanKey k0 = ConvPlanKey::make(base(), DType::F32, false, true, false, false, 0);
  const ConvPlanKey same = ConvPlanKey::make(base(), DType::F32, false, true, false, false, 0);
  CHECK(k0 == same);
  CHECK(ConvPlanKeyHash{}(k0) == ConvPlanKeyHash{}(same));
  int64_t ConvGeometry::*fields[] = {&ConvGeometry::N,  &ConvGeometry::C,    &ConvGeometry::H,
                                     &ConvGeometry::W,  &ConvGeometry::Cout, &ConvGeometry::KH,
                                     &ConvGeometry::KW, &ConvGeometry::sh,   &ConvGeometry::sw,
                                     &ConvGeometry::ph, &ConvGeometry::pw,   &ConvGeometry::dh,
                                     &ConvGeometry::dw, &ConvGeometry::OH,   &ConvGeometry::OW};
  std::vector<ConvPlanKey> keys{k0};
  for (auto field : fields) {
    ConvGeometry g = base();
    g.*field += 1;
    keys.push_back(ConvPlanKey::make(g, DType::F32, false, true, false, false, 0));
  }
  // Transposed pairs (H and W, sh and sw, ...) must differ too.
  ConvGeometry t = base();
  std::swap(t.H, t.W);
  std::swap(t.OH, t.OW);
  keys.push_back(ConvPlanKey::make(t, DType::F32, false, true, false, false, 0));
  for (size_t i = 0; i < keys.size(); ++i)
    for (size_t j = i + 1; j < keys.size(); ++j) {
      INFO("keys " << i << " and " << j);
      CHECK_FALSE(keys[i] == keys[j]);
      CHECK(ConvPlanKeyHash{}(keys[i]) != ConvPlanKeyHash{}(keys[j]));
    }
}

TEST_CASE(
    "conv plan keys tell apart dtype, TF32 (float only), determinism, direct sums, backend "
    "engines and device",
    "[conv_plan]") {
  const ConvPlanKey f = ConvPlanKey::make(base(), DType::F32, false, true, false, false, 0);
  CHECK_FALSE(f == ConvPlanKey::make(base(), DType::F64, false, true, false, false, 0));
  CHECK_FALSE(f == ConvPlanKey::make(base(), DType::F32, true, true, false, false, 0));
  CHECK_FALSE(f == ConvPlanKey::make(base(), DType::F32, false, true, false, false, 1));
  CHECK_FALSE(f == ConvPlanKey::make(base(), DType::F32, false, false, false, false, 0));
  CHECK_FALSE(f == ConvPlanKey::make(base(), DType::F32, false, true, true, false, 0));
  CHECK_FALSE(f == ConvPlanKey::make(base(), DType::F32, false, true, false, true, 0));
  CHECK(ConvPlanKeyHash{}(f) !=
        ConvPlanKeyHash{}(ConvPlanKey::make(base(), DType::F32, false, false, false, false, 0)));
  CHECK(ConvPlanKeyHash{}(f) !=
        ConvPlanKeyHash{}(ConvPlanKey::make(base(), DType::F32, false, true, false, true, 0)));
  // float64 never uses TF32, so the flag does not split its plans.
  CHECK(ConvPlanKey::make(base(), DType::F64, true, true, false, false, 0) ==
        ConvPlanKey::make(base(), DType::F64, false, true, false, false, 0));
}

TEST_CASE("conv plan cache makes one plan per key and keeps it", "[conv_plan]") {
  ptl::cuda::PlanCache<ConvPlanKey, int, ConvPlanKeyHash> cache;
  int made = 0;
  auto make = [&made] { return std::make_unique<int>(++made); };
  ConvGeometry g2 = base();
  g2.N = 4;
  int& a = cache.get(ConvPlanKey::make(base(), DType::F32, false, true, false, false, 0), make);
  int& b = cache.get(ConvPlanKey::make(g2, DType::F32, false, true, false, false, 0), make);
  int& a2 = cache.get(ConvPlanKey::make(base(), DType::F32, false, true, false, false, 0), make);
  CHECK(made == 2);
  CHECK(&a == &a2);  // the same plan, at a stable address
  CHECK(a == 1);
  CHECK(b == 2);
  CHECK(cache.size() == 2);
}

TEST_CASE("cuDNN backend engines are filtered by the legacy path's algorithm rules",
          "[conv_plan]") {
  using ptl::cuda::engine_allowed;
  using ptl::cuda::EngineNotes;
  using ptl::cuda::EngineRules;
  EngineNotes plain, atomics, transform, tensor_core, down_convert, reduced;
  atomics.nondeterministic = true;
  transform.transform = true;
  tensor_core.tensor_core = true;
  down_convert.down_convert = true;
  reduced.reduced_reduction = true;
  // float32 without TF32, deterministic (the defaults): plain FP32 engines, FFT and Winograd.
  const EngineRules f32 = EngineRules::of(DType::F32, false, true, false);
  CHECK(engine_allowed(plain, f32));
  CHECK(engine_allowed(transform, f32));
  CHECK_FALSE(engine_allowed(atomics, f32));
  CHECK_FALSE(engine_allowed(tensor_core, f32));
  CHECK_FALSE(engine_allowed(down_convert, f32));
  CHECK_FALSE(engine_allowed(reduced, f32));
  // --nondeterministic lets atomics in; direct sums keep them and transforms out regardless.
  CHECK(engine_allowed(atomics, EngineRules::of(DType::F32, false, false, false)));
  const EngineRules direct = EngineRules::of(DType::F32, false, false, true);
  CHECK_FALSE(engine_allowed(atomics, direct));
  CHECK_FALSE(engine_allowed(transform, direct));
  CHECK(engine_allowed(plain, direct));
  // TF32 lets float32 use tensor cores on inputs rounded to TF32; never reduced-precision sums.
  const EngineRules tf32 = EngineRules::of(DType::F32, true, true, false);
  CHECK(engine_allowed(tensor_core, tf32));
  CHECK(engine_allowed(down_convert, tf32));
  CHECK_FALSE(engine_allowed(reduced, tf32));
  // bf16 runs on tensor cores with or without TF32, its inputs never rounded further; float64
  // never uses either.
  for (bool t : {false, true}) {
    CHECK(engine_allowed(tensor_core, EngineRules::of(DType::BF16, t, true, false)));
    CHECK_FALSE(engine_allowed(down_convert, EngineRules::of(DType::BF16, t, true, false)));
    CHECK_FALSE(engine_allowed(tensor_core, EngineRules::of(DType::F64, t, true, false)));
    CHECK_FALSE(engine_allowed(down_convert, EngineRules::of(DType::F64, t, true, false)));
  }
}
