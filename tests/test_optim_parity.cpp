// Optimizers and the triplet loss against PyTorch (fixtures from tests/parity/gen_train.py).
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdlib>

#include "engine/ops.h"
#include "engine/safetensors.h"
#include "tests/compare.h"
#include "train/losses.h"
#include "train/optim.h"

using namespace ptl;

namespace {
std::string fixture(const std::string& name) {
  const char* dir = std::getenv("PTL_PARITY_DIR");
  REQUIRE(dir != nullptr);  // set by ctest's parity group (tests/CMakeLists.txt)
  return std::string(dir) + "/" + name + ".safetensors";
}

std::unique_ptr<Optimizer> make(const std::string& name, std::vector<Tensor> params) {
  ParamGroup g{"all", params, 0, 0, 0, false};
  auto group = [&](double lr, double wd) {
    g.lr = g.base_lr = lr;
    g.weight_decay = wd;
    return std::vector<ParamGroup>{g};
  };
  if (name == "sgd_momentum_wd")
    return std::make_unique<Sgd>(group(0.05, 5e-4), SgdOptions{0.9, 0, false});
  if (name == "sgd_nesterov")
    return std::make_unique<Sgd>(group(0.05, 1e-4), SgdOptions{0.9, 0, true});
  if (name == "sgd_plain") return std::make_unique<Sgd>(group(0.1, 0), SgdOptions{0, 0, false});
  if (name == "adam") return std::make_unique<Adam>(group(1e-3, 0), AdamOptions{});
  if (name == "adam_amsgrad_wd")
    return std::make_unique<Adam>(group(2e-4, 5e-4), AdamOptions{0.9, 0.999, 1e-8, true, false});
  if (name == "adamw")
    return std::make_unique<Adam>(group(1e-3, 1e-2), AdamOptions{0.9, 0.999, 1e-8, false, true});
  FAIL("no optimizer mapping for " << name);
  return nullptr;
}
}  // namespace

TEST_CASE("10 optimizer steps equal torch.optim's to 1e-6 relative", "[parity][optim]") {
  for (const char* name :
       {"sgd_momentum_wd", "sgd_nesterov", "sgd_plain", "adam", "adam_amsgrad_wd", "adamw"}) {
    DYNAMIC_SECTION(name) {
      TensorMap f = load_safetensors(fixture(std::string("optim_") + name));
      std::vector<Tensor> params{f["init.0"].clone().set_requires_grad(),
                                 f["init.1"].clone().set_requires_grad()};
      auto opt = make(name, params);
      for (int s = 0; s < 10; ++s) {
        for (int i = 0; i < 2; ++i) params[i].set_grad(f[str("grad.", s, ".", i)]);
        opt->step();
        for (int i = 0; i < 2; ++i) {
          INFO("step " << s << " param " << i);
          CHECK_WITHIN(params[i], f[str("param.", s, ".", i)], (test::Bound{1e-6}));
        }
      }
    }
  }
}

TEST_CASE("optimizer state round-trips: resuming gives the same trajectory", "[parity][optim]") {
  TensorMap f = load_safetensors(fixture("optim_adam_amsgrad_wd"));
  auto run = [&](bool resume_at_5) {
    std::vector<Tensor> params{f["init.0"].clone().set_requires_grad(),
                               f["init.1"].clone().set_requires_grad()};
    auto opt = make("adam_amsgrad_wd", params);
    for (int s = 0; s < 10; ++s) {
      if (resume_at_5 && s == 5) {
        TensorMap state = opt->state_dict();
        std::vector<Tensor> copies{params[0].detach().clone().set_requires_grad(),
                                   params[1].detach().clone().set_requires_grad()};
        params = copies;
        opt = make("adam_amsgrad_wd", params);
        opt->load_state_dict(parse_safetensors(serialize_safetensors(state), "state"));
      }
      for (int i = 0; i < 2; ++i) params[i].set_grad(f[str("grad.", s, ".", i)]);
      opt->step();
    }
    return params[0].to_vector();
  };
  CHECK(run(false) == run(true));
}

TEST_CASE("batch-hard triplet loss and its gradient equal PyTorch's", "[parity][losses]") {
  for (const char* name : {"margin", "margin_small", "soft"}) {
    DYNAMIC_SECTION(name) {
      TensorMap f = load_safetensors(fixture(std::string("triplet_") + name));
      const double margin =
          std::string(name) == "soft" ? 0.0 : (std::string(name) == "margin" ? 1.2 : 0.3);
      Tensor x = f["features"].clone().set_requires_grad();
      TripletResult r = batch_hard_triplet(x, f["labels"], margin);
      r.loss.backward();
      CHECK(r.loss.item() == Approx(f["loss"].item()).epsilon(1e-5));
      CHECK_WITHIN(x.grad(), f["grad"], (test::Bound{1e-4}));
      // 16 anchors: a fraction in steps of 1/16, the same count as PyTorch's.
      CHECK(r.precision() == f["precision"].item());
    }
  }
}
