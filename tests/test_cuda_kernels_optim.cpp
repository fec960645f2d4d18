// CUDA optimizers kernels against the CPU's (tests/cuda_kernel_compare.h says how).
#include <catch2/catch.hpp>

#include "engine/device.h"

#if PTL_WITH_CUDA
#include "kernels/cpu/optim.h"
#include "tests/cuda_kernel_compare.h"

using namespace ptl;
using namespace ptl::test;

namespace {
// One parameter's host and device state.
template <class T>
struct OptState {
  std::vector<T> p, g, a, b, c;  // a, b, c: momentum buffer or m, v, vmax
  std::unique_ptr<DeviceVec<T>> dp, dg, da, db, dc;
  OptState(size_t n, uint32_t seed)
      : p(test::random_values<T>(n, seed)),
        g(test::random_values<T>(n, seed + 1)),
        a(test::random_values<T>(n, seed + 2)),
        b(test::random_values<T>(n, seed + 3, 0, 0.1)),
        c(test::random_values<T>(n, seed + 4, 0, 0.1)) {
    dp = std::make_unique<DeviceVec<T>>(p);
    dg = std::make_unique<DeviceVec<T>>(g);
    da = std::make_unique<DeviceVec<T>>(a);
    db = std::make_unique<DeviceVec<T>>(b);
    dc = std::make_unique<DeviceVec<T>>(c);
  }
};

const size_t kSlotSizes[] = {1, 0, 16384, 16389, 70000, 3};

template <class T>
void check_sgd() {
  std::vector<OptState<T>> st;
  uint32_t seed = 200;
  for (size_t n : kSlotSizes) st.emplace_back(n, seed += 10);
  for (int step = 0; step < 3; ++step) {
    INFO("sgd step " << step);
    std::vector<SgdSlot<T>> cpu_slots, gpu_slots;
    for (size_t k = 0; k < st.size(); ++k) {
      // Slot 3 has no momentum (no buffer); the others alternate plain and Nesterov momentum.
      const bool momentum = k != 3;
      SgdHyper h{0.05 + 0.01 * k, momentum ? 0.9 : 0.0,   1.0 - 0.1 * (k % 2),
                 5e-4 * (k % 3),  k % 2 == 0 && momentum, step == 0};
      auto& s = st[k];
      cpu_slots.push_back({s.p.data(), momentum ? s.a.data() : nullptr, s.g.data(),
                           static_cast<int64_t>(s.p.size()), h});
      gpu_slots.push_back({s.dp->get(), momentum ? s.da->get() : nullptr, s.dg->get(),
                           static_cast<int64_t>(s.p.size()), h});
    }
    cpu::sgd_update(cpu_slots);
    cuda::sgd_update(gpu_slots);
    for (auto& s : st) {
      CHECK_SAME_BITS(s.dp->host(), s.p);
      CHECK_SAME_BITS(s.da->host(), s.a);
    }
  }
}

template <class T>
void check_adam() {
  for (int variant = 0; variant < 4; ++variant) {
    const bool amsgrad = variant & 1, decoupled = variant & 2;
    INFO("adam amsgrad " << amsgrad << ", decoupled " << decoupled);
    std::vector<OptState<T>> st;
    uint32_t seed = 300 + 100 * variant;
    for (size_t n : kSlotSizes) st.emplace_back(n, seed += 10);
    const double lr = 3e-4, beta1 = 0.9, beta2 = 0.999, wd = 5e-4;
    for (int step = 1; step <= 3; ++step) {
      AdamHyper h{beta1,
                  1 - beta1,
                  beta2,
                  1 - beta2,
                  1e-8,
                  wd,
                  decoupled ? 1 - lr * wd : 1.0,
                  lr / (1 - std::pow(beta1, step)),
                  std::sqrt(1 - std::pow(beta2, step)),
                  amsgrad,
                  decoupled};
      std::vector<AdamSlot<T>> cpu_slots, gpu_slots;
      for (auto& s : st) {
        const int64_t n = static_cast<int64_t>(s.p.size());
        cpu_slots.push_back(
            {s.p.data(), s.a.data(), s.b.data(), amsgrad ? s.c.data() : nullptr, s.g.data(), n, h});
        gpu_slots.push_back({s.dp->get(), s.da->get(), s.db->get(), amsgrad ? s.dc->get() : nullptr,
                             s.dg->get(), n, h});
      }
      cpu::adam_update(cpu_slots);
      cuda::adam_update(gpu_slots);
      for (auto& s : st) {
        CHECK_SAME_BITS(s.dp->host(), s.p);
        CHECK_SAME_BITS(s.da->host(), s.a);
        CHECK_SAME_BITS(s.db->host(), s.b);
        CHECK_SAME_BITS(s.dc->host(), s.c);
      }
    }
  }
}
}  // namespace

TEST_CASE("cuda multi-tensor SGD and Adam/AMSGrad round like the CPU, bit for bit", "[cuda]") {
  PTL_SKIP_WITHOUT_GPU();
  check_sgd<float>();
  check_sgd<double>();
  check_adam<float>();
  check_adam<double>();
}

#endif  // PTL_WITH_CUDA
