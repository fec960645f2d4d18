// The host-side bookkeeping of the cuDNN convolutions (conv.cu): what a cached plan
// (descriptors and chosen algorithms) depends on, and a thread-safe cache of plans. Free of
// CUDA headers, so the tests check it on any machine.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "base/dtype.h"
#include "kernels/conv_geometry.h"

namespace ptl::cuda {

struct ConvPlanKey {
  std::array<int64_t, 15> geometry{};  // every field of ConvGeometry, in declaration order
  DType dtype = DType::F32;
  bool tf32 = false;          // TF32 allowed; always false for float64, which never uses it
  bool deterministic = true;  // deterministic algorithms preferred (math_mode.h)
  bool direct = false;        // only deterministic direct-sum algorithms (math_mode.h)
  bool engines = false;       // backend-API engines chosen too (math_mode.h, heuristics)
  int device = 0;

  static ConvPlanKey make(const ConvGeometry& g, DType dtype, bool allow_tf32, bool deterministic,
                          bool direct, bool engines, int device) {
    ConvPlanKey k;
    k.geometry = {g.N,  g.C,  g.H,  g.W,  g.Cout, g.KH, g.KW, g.sh,
                  g.sw, g.ph, g.pw, g.dh, g.dw,   g.OH, g.OW};
    k.dtype = dtype;
    k.tf32 = allow_tf32 && dtype == DType::F32;
    k.deterministic = deterministic;
    k.direct = direct;
    k.engines = engines;
    k.device = device;
    return k;
  }
  bool operator==(const ConvPlanKey& o) const {
    return geometry == o.geometry && dtype == o.dtype && tf32 == o.tf32 &&
           deterministic == o.deterministic && direct == o.direct && engines == o.engines &&
           device == o.device;
  }
};

struct ConvPlanKeyHash {
  size_t operator()(const ConvPlanKey& k) const {
    uint64_t h = 0xcbf29ce484222325ull;  // FNV-1a over the fields
    auto mix = [&h](uint64_t v) { h = (h ^ v) * 0x100000001b3ull; };
    for (int64_t v : k.geometry) mix(static_cast<uint64_t>(v));
    mix(static_cast<uint64_t>(k.dtype));
    mix(k.tf32);
    mix(k.deterministic);
    mix(k.direct);
    mix(k.engines);
    mix(static_cast<uint64_t>(k.device));
    return static_cast<size_t>(h);
  }
};

// Plans by key, each made once by make() -> std::unique_ptr<Plan> (under the cache's lock) and
// kept for the life of the process: a training run meets a few dozen convolution shapes.
template <class Key, class Plan, class Hash>
class PlanCache {
 public:
  template <class Make>
  Plan& get(const Key& key, Make make) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = plans_.find(key);
    if (it == plans_.end()) it = plans_.emplace(key, make()).first;
    return *it->second;
  }
  size_t size() const {
    std::lock_guard<std::mutex> lock(mu_);
    return plans_.size();
  }

 private:
  mutable std::mutex mu_;
  std::unordered_map<Key, std::unique_ptr<Plan>, Hash> plans_;
};

}  // namespace ptl::cuda
