// bfloat16 casts against PyTorch 1.13 (issue #30): the fixture tests/parity/gen_bf16.py writes
// holds edge values, random bit patterns and every bf16 value with PyTorch's casts of them, in a
// BF16 safetensors file written by Python.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdlib>
#include <sstream>
#include <string>

#include "engine/safetensors.h"

using namespace ptl;

namespace {

std::string fixture() {
  const char* dir = std::getenv("PTL_PARITY_DIR");
  REQUIRE(dir != nullptr);  // set by ctest's parity group (tests/CMakeLists.txt)
  return std::string(dir) + "/bf16/casts.safetensors";
}

bool is_nan(bf16 h) {
  return (h.bits & 0x7FFF) > 0x7F80;
}

// "" when `got` (ptl's cast of `in`) matches PyTorch's `want` bit for bit. NaN inputs only need
// a NaN out: PyTorch's own bits for NaN depend on its code path (its vectorised float32 cast
// gives 0xFFFF, its scalar one 0x7FC0, both in 1.13 and 2.15), and ptl always gives 0x7FC0.
std::string cast_mismatch(const Tensor& in, const Tensor& got, const Tensor& want) {
  REQUIRE(got.dtype() == DType::BF16);
  REQUIRE(want.dtype() == DType::BF16);
  REQUIRE(got.numel() == want.numel());
  const std::vector<double> x = in.to_double_vector();
  const bf16 *g = got.data<bf16>(), *w = want.data<bf16>();
  for (int64_t i = 0; i < got.numel(); ++i) {
    const bool ok = std::isnan(x[i]) ? g[i].bits == 0x7FC0 && is_nan(w[i]) : g[i].bits == w[i].bits;
    if (ok) continue;
    std::ostringstream s;
    s << "element " << i << " (" << x[i] << "): ptl 0x" << std::hex << g[i].bits << ", PyTorch 0x"
      << w[i].bits;
    return s.str();
  }
  return "";
}

}  // namespace

TEST_CASE("bf16 casts match PyTorch's tensor.to(torch.bfloat16) bit for bit", "[parity][bf16]") {
  const TensorMap f = load_safetensors(fixture());
  INFO("fixture written by PyTorch " << load_safetensors_metadata(fixture())["torch"]);
  for (const char* from : {"f32", "f64"}) {
    INFO(from);
    const Tensor x = f.at(from);
    const std::string m = cast_mismatch(x, x.to(DType::BF16), f.at(std::string(from) + "_bf16"));
    INFO(m);
    CHECK(m.empty());
  }
}

TEST_CASE("every bf16 value read from a Python-written file widens as PyTorch's .float()",
          "[parity][bf16]") {
  const TensorMap f = load_safetensors(fixture());
  const Tensor all = f.at("all_bf16");
  REQUIRE(all.dtype() == DType::BF16);
  REQUIRE(all.numel() == 65536);
  const Tensor want = f.at("all_bf16_f32"), got = all.to(DType::F32);
  const float *g = got.data<float>(), *w = want.data<float>();
  int64_t differ = 0;
  for (int64_t i = 0; i < 65536; ++i) differ += float_bits(g[i]) != float_bits(w[i]);
  CHECK(differ == 0);
  // Back to bf16: every non-NaN pattern is itself again (widening is exact).
  const Tensor back = got.to(DType::BF16);
  const bf16 *a = all.data<bf16>(), *b = back.data<bf16>();
  int64_t changed = 0;
  for (int64_t i = 0; i < 65536; ++i) changed += !is_nan(a[i]) && a[i].bits != b[i].bits;
  CHECK(changed == 0);
}
