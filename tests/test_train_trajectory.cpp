// The whole loop against PyTorch (fixture: tests/parity/gen_trajectory.py): 20 Adam steps of a
// PTL-ResNet-20 (float64) with carried BConv-Cell states give the same per-step losses.
#include <catch2/catch.hpp>

#include <cstdlib>

#include "engine/safetensors.h"
#include "layers/convert.h"
#include "models/registry.h"
#include "train/losses.h"
#include "train/optim.h"

using namespace ptl;

TEST_CASE("20 Adam steps of PTL-ResNet-20 give PyTorch's per-step losses within 1e-4 relative",
          "[parity][train]") {
  const char* dir = std::getenv("PTL_PARITY_DIR");
  REQUIRE(dir != nullptr);
  TensorMap f = load_safetensors(std::string(dir) + "/trajectory/trajectory.safetensors");
  ModelOptions mo;
  mo.ptl.state_init = StateInit::Zeros;  // both sides start the carried state at zero
  auto model = make_model("ptl_resnet20", 6, mo);
  TensorMap w;
  for (auto& [k, t] : f)
    if (k.rfind("w.", 0) == 0) w[k.substr(2)] = t;
  model->load_state_dict(w, true, "trajectory weights");
  convert_floats(*model, DType::F64);  // as the fixture: see gen_trajectory.py for why
  Adam opt({ParamGroup{"all", model->parameters(), 1e-3, 1e-3, 5e-4, false}},
           AdamOptions{0.9, 0.999, 1e-8, true, false});
  std::vector<double> ref = f["loss"].to_double_vector();
  REQUIRE(ref.size() == 20);
  model->train();
  for (int s = 0; s < 20; ++s) {
    ModelOutput o = model->forward(f[str("x.", s)]);
    const Tensor& y = f[str("y.", s)];
    MgnLossResult l = mgn_loss(o.triplet, o.logits, y, 0.3);
    INFO("step " << s << ": ours " << l.loss.item() << ", PyTorch " << ref[s]);
    CHECK(std::abs(l.loss.item() - ref[s]) <= 1e-4 * std::abs(ref[s]));
    opt.zero_grad();
    l.loss.backward();
    opt.step();
  }
}
