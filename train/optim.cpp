#include "train/optim.h"

#include <cmath>

#include "engine/ops.h"
#include "kernels/dispatch.h"

namespace ptl {

namespace {
void check_param(const Tensor& p, const std::string& group, size_t i) {
  PTL_CHECK(is_float32_or_64(p.dtype()) && p.is_contiguous(), "optimizer: parameter ", i,
            " of group '", group, "' must be a contiguous float32 or float64 tensor, got ",
            dtype_name(p.dtype()), p.shape_str());
  if (p.grad().defined())
    PTL_CHECK(p.grad().shape() == p.shape(), "optimizer: gradient ", p.grad().shape_str(),
              " does not match parameter ", p.shape_str(), " (group '", group, "')");
}

// The slots of one multi-tensor update (kernels/contract/optim.inc), split by dtype, all on one
// device. `grads` keeps contiguous gradient copies alive until the update has run.
template <template <class> class Slot>
struct SlotBatch {
  std::vector<Slot<float>> f32;
  std::vector<Slot<double>> f64;
  std::vector<Tensor> grads;
  Device device;

  // Adds p's slot; make(T{}) builds it for p's dtype T.
  template <class Make>
  void add(const Tensor& p, const Tensor& grad, const Make& make) {
    PTL_CHECK(grads.empty() || p.device() == device, "optimizer: parameters on ", device.str(),
              " and ", p.device().str(), "; move the whole model to one device");
    device = p.device();
    grads.push_back(grad);
    if (p.dtype() == DType::F32)
      f32.push_back(make(float{}));
    else
      f64.push_back(make(double{}));
  }
};

std::string key(size_t g, size_t p, const char* what) {
  return str("g", g, ".p", p, ".", what);
}

Tensor load_buffer(const TensorMap& s, const std::string& k, const Tensor& like) {
  auto it = s.find(k);
  if (it == s.end()) return Tensor();
  PTL_CHECK(it->second.shape() == like.shape(), "optimizer state '", k, "' has shape ",
            it->second.shape_str(), " but the parameter has ", like.shape_str(),
            ": the checkpoint belongs to another model");
  return it->second.to(like.dtype()).to(like.device()).clone();
}
}  // namespace

void Optimizer::each_update(const std::function<void(size_t, size_t, Tensor&, const Tensor&)>& f) {
  for (size_t gi = 0; gi < groups_.size(); ++gi) {
    if (groups_[gi].frozen) continue;
    for (size_t pi = 0; pi < groups_[gi].params.size(); ++pi) {
      Tensor& p = groups_[gi].params[pi];
      check_param(p, groups_[gi].name, pi);
      if (p.grad().defined()) f(gi, pi, p, p.grad().contiguous());
    }
  }
}

void Optimizer::zero_grad() {
  for (ParamGroup& g : groups_)
    for (Tensor& p : g.params) p.zero_grad();
}

Sgd::Sgd(std::vector<ParamGroup> groups, SgdOptions o) : Optimizer(std::move(groups)), o_(o) {
  for (const ParamGroup& g : groups_) buf_.emplace_back(g.params.size());
}

void Sgd::step() {
  SlotBatch<SgdSlot> batch;
  each_update([&](size_t gi, size_t pi, Tensor& p, const Tensor& grad) {
    const ParamGroup& g = groups_[gi];
    Tensor& buf = buf_[gi][pi];
    const bool first = !buf.defined();
    if (first && o_.momentum != 0) buf = zeros(p.shape(), p.dtype(), p.device());
    SgdHyper h{g.lr, o_.momentum, 1.0 - o_.dampening, g.weight_decay, o_.nesterov, first};
    const bool has_buf = o_.momentum != 0;
    batch.add(p, grad, [&](auto t) {
      using T = decltype(t);
      return SgdSlot<T>{p.data<T>(), has_buf ? buf.data<T>() : nullptr, grad.data<T>(), p.numel(),
                        h};
    });
  });
  if (!batch.f32.empty()) PTL_KERNEL(batch.device, sgd_update<float>)(batch.f32);
  if (!batch.f64.empty()) PTL_KERNEL(batch.device, sgd_update<double>)(batch.f64);
}

TensorMap Sgd::state_dict() const {
  TensorMap m;
  for (size_t g = 0; g < buf_.size(); ++g)
    for (size_t p = 0; p < buf_[g].size(); ++p)
      if (buf_[g][p].defined()) m[key(g, p, "momentum")] = buf_[g][p];
  return m;
}

void Sgd::load_state_dict(const TensorMap& s) {
  for (size_t g = 0; g < buf_.size(); ++g)
    for (size_t p = 0; p < buf_[g].size(); ++p)
      buf_[g][p] = load_buffer(s, key(g, p, "momentum"), groups_[g].params[p]);
}

Adam::Adam(std::vector<ParamGroup> groups, AdamOptions o) : Optimizer(std::move(groups)), o_(o) {
  for (const ParamGroup& g : groups_) state_.emplace_back(g.params.size());
}

void Adam::step() {
  SlotBatch<AdamSlot> batch;
  each_update([&](size_t gi, size_t pi, Tensor& p, const Tensor& grad) {
    const ParamGroup& g = groups_[gi];
    State& s = state_[gi][pi];
    if (!s.m.defined()) {
      s.m = zeros(p.shape(), p.dtype(), p.device());
      s.v = zeros(p.shape(), p.dtype(), p.device());
      if (o_.amsgrad) s.vmax = zeros(p.shape(), p.dtype(), p.device());
    }
    s.step += 1;
    const double bc1 = 1.0 - std::pow(o_.beta1, static_cast<double>(s.step));
    const double bc2 = 1.0 - std::pow(o_.beta2, static_cast<double>(s.step));
    AdamHyper h{o_.beta1,
                1.0 - o_.beta1,
                o_.beta2,
                1.0 - o_.beta2,
                o_.eps,
                g.weight_decay,
                1.0 - g.lr * g.weight_decay,
                g.lr / bc1,
                std::sqrt(bc2),
                o_.amsgrad,
                o_.decoupled};
    batch.add(p, grad, [&](auto t) {
      using T = decltype(t);
      return AdamSlot<T>{p.data<T>(),
                         s.m.data<T>(),
                         s.v.data<T>(),
                         s.vmax.defined() ? s.vmax.data<T>() : nullptr,
                         grad.data<T>(),
                         p.numel(),
                         h};
    });
  });
  if (!batch.f32.empty()) PTL_KERNEL(batch.device, adam_update<float>)(batch.f32);
  if (!batch.f64.empty()) PTL_KERNEL(batch.device, adam_update<double>)(batch.f64);
}

TensorMap Adam::state_dict() const {
  TensorMap m;
  for (size_t g = 0; g < state_.size(); ++g)
    for (size_t p = 0; p < state_[g].size(); ++p) {
      const State& s = state_[g][p];
      if (!s.m.defined()) continue;
      m[key(g, p, "exp_avg")] = s.m;
      m[key(g, p, "exp_avg_sq")] = s.v;
      if (s.vmax.defined()) m[key(g, p, "max_exp_avg_sq")] = s.vmax;
      m[key(g, p, "step")] = full({}, static_cast<double>(s.step), DType::I64);
    }
  return m;
}

void Adam::load_state_dict(const TensorMap& st) {
  for (size_t g = 0; g < state_.size(); ++g)
    for (size_t p = 0; p < state_[g].size(); ++p) {
      const Tensor& like = groups_[g].params[p];
      State s;
      s.m = load_buffer(st, key(g, p, "exp_avg"), like);
      s.v = load_buffer(st, key(g, p, "exp_avg_sq"), like);
      s.vmax = load_buffer(st, key(g, p, "max_exp_avg_sq"), like);
      auto it = st.find(key(g, p, "step"));
      s.step = it == st.end() ? 0 : static_cast<int64_t>(it->second.item());
      PTL_CHECK(
          s.m.defined() == s.v.defined() && (!o_.amsgrad || s.m.defined() == s.vmax.defined()),
          "optimizer state for g", g, ".p", p, " is incomplete (AMSGrad buffers missing?)");
      state_[g][p] = s;
    }
}

}  // namespace ptl
