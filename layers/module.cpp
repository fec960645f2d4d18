#include "layers/module.h"

#include <algorithm>
#include <cstdint>

#include "engine/autograd.h"
#include "engine/ops.h"

namespace ptl {

Tensor Module::register_parameter(const std::string& name, Tensor t) {
  t.set_requires_grad(true);
  params_.emplace_back(name, t);
  return t;
}

Tensor Module::register_buffer(const std::string& name, Tensor t) {
  buffers_.emplace_back(name, t);
  return t;
}

void Module::collect(const std::string& prefix, bool params,
                     std::vector<std::pair<std::string, Tensor>>& out) const {
  for (const auto& [n, t] : params ? params_ : buffers_) out.emplace_back(prefix + n, t);
  for (const auto& [n, c] : children_) c->collect(prefix + n + ".", params, out);
}

std::vector<std::pair<std::string, Tensor>> Module::named_parameters() const {
  std::vector<std::pair<std::string, Tensor>> out;
  collect("", true, out);
  return out;
}

std::vector<std::pair<std::string, Tensor>> Module::named_buffers() const {
  std::vector<std::pair<std::string, Tensor>> out;
  collect("", false, out);
  return out;
}

std::vector<std::pair<std::string, Module*>> Module::named_modules() {
  std::vector<std::pair<std::string, Module*>> out{{"", this}};
  for (auto& [n, c] : children_)
    for (auto& [sub, m] : c->named_modules()) out.emplace_back(sub.empty() ? n : n + "." + sub, m);
  return out;
}

std::vector<Tensor> Module::parameters() const {
  std::vector<Tensor> out;
  for (auto& [n, t] : named_parameters()) out.push_back(t);
  return out;
}

int64_t Module::parameter_count() const {
  int64_t n = 0;
  for (const Tensor& t : parameters()) n += t.numel();
  return n;
}

TensorMap Module::state_dict() const {
  TensorMap m;
  for (auto& [n, t] : named_parameters()) m[n] = t;
  for (auto& [n, t] : named_buffers()) m[n] = t;
  return m;
}

std::string Module::LoadReport::str() const {
  // The likely cause first (tensors of the wrong shape, one per line), then foreign and missing
  // keys on a line each with their first names and a count, so the cause is never buried under
  // 100 missing keys; and a guess when most of the model is absent.
  const size_t kShown = verbose_errors() ? SIZE_MAX : 5;
  std::string s;
  if (!mismatched.empty()) {
    s += "\n  shape or dtype mismatches (" + std::to_string(mismatched.size()) + "):";
    for (size_t i = 0; i < std::min(mismatched.size(), kShown); ++i) s += "\n    " + mismatched[i];
    if (mismatched.size() > kShown)
      s += "\n    ... and " + std::to_string(mismatched.size() - kShown) +
           " more (ptl --verbose lists them all)";
  }
  auto names = [&](const char* title, const std::vector<std::string>& v) {
    if (v.empty()) return;
    s += std::string("\n  ") + title + " (" + std::to_string(v.size()) + "): ";
    for (size_t i = 0; i < std::min(v.size(), kShown); ++i) s += (i ? ", " : "") + v[i];
    if (v.size() > kShown)
      s += " and " + std::to_string(v.size() - kShown) + " more (ptl --verbose lists them all)";
  };
  names("unexpected keys", unexpected);
  names("missing keys", missing);
  const size_t found = model_tensors - std::min(model_tensors, missing.size());
  if (model_tensors > 0 && 2 * found < model_tensors)
    s += "\n  the file holds " + std::to_string(found) + " of the model's " +
         std::to_string(model_tensors) + " tensors: is it the weights of another model?";
  return s;
}

std::string Module::LoadReport::conversion_note(const std::string& source) const {
  if (from_bf16 == 0) return "";
  return ptl::str(
      source, ": ", from_bf16, " bfloat16 tensor", from_bf16 == 1 ? "" : "s",
      " converted to float32, the model's dtype (exactly: bf16 is float32's upper half)");
}

Module::LoadReport Module::load_state_dict(const TensorMap& state, bool strict,
                                           const std::string& source) {
  LoadReport r;
  TensorMap ours = state_dict();
  r.model_tensors = ours.size();
  for (const auto& [k, t] : ours) {
    auto it = state.find(k);
    if (it == state.end()) {
      r.missing.push_back(k);
      continue;
    }
    const Tensor& src = it->second;
    const bool dtype_ok = src.dtype() == t.dtype() ||
                          (is_floating(src.dtype()) && is_floating(t.dtype())) ||
                          (!is_floating(src.dtype()) && !is_floating(t.dtype()));
    if (src.shape() != t.shape() || !dtype_ok)
      r.mismatched.push_back(str(k, ": expected ", dtype_name(t.dtype()), t.shape_str(), ", found ",
                                 dtype_name(src.dtype()), src.shape_str()));
  }
  for (const auto& [k, t] : state)
    if (!ours.count(k)) r.unexpected.push_back(k);
  if (strict && !r.ok())
    fail(str("loading ", source,
             " failed: it must hold every tensor of the model with the model's shape:", r.str()));

  NoGradGuard ng;
  for (auto& [k, t] : ours) {
    auto it = state.find(k);
    if (it == state.end() || it->second.shape() != t.shape()) continue;
    // An init-capture: clang before 16 cannot capture a structured binding (C++20).
    if (std::find_if(r.mismatched.begin(), r.mismatched.end(), [&key = k](const std::string& m) {
          return m.rfind(key + ":", 0) == 0;
        }) != r.mismatched.end())
      continue;
    Tensor dst = t.detach();
    if (it->second.dtype() == DType::BF16 && t.dtype() == DType::F32) ++r.from_bf16;
    copy_(dst, it->second.to(t.device()).to(t.dtype()));
  }
  return r;
}

void Module::train(bool on) {
  training_ = on;
  for (auto& [n, c] : children_) c->train(on);
}

void Module::to(Device device) {
  // named_* walk the whole tree; the handles they return share each tensor's TensorImpl.
  for (const auto& named : {named_parameters(), named_buffers()})
    for (auto [n, t] : named)
      if (is_floating(t.dtype())) t.move_to_(device);
  reset_state();
}

Device Module::device() const {
  for (const Tensor& p : parameters())
    if (is_floating(p.dtype())) return p.device();
  return Device::cpu();
}

void Module::set_frozen(bool frozen) {
  for (auto& [n, t] : params_) t.impl().requires_grad = !frozen;
  for (auto& [n, c] : children_) c->set_frozen(frozen);
}

void Module::zero_grad() {
  for (Tensor& t : parameters()) t.zero_grad();
}

void Module::reset_state() {
  for (auto& [n, c] : children_) c->reset_state();
}

}  // namespace ptl
