#include "models/release_keys.h"

#include <set>

#include "base/error.h"

namespace ptl {

namespace {
bool starts(const std::string& s, const std::string& p) {
  return s.rfind(p, 0) == 0;
}

// "layer3.4.conv1.weight" -> block index 4 of layer3 (or -1 for other keys).
int block_of(const std::string& key, const std::string& layer) {
  if (!starts(key, layer + ".")) return -1;
  return std::stoi(key.substr(layer.size() + 1));
}
std::string after_block(const std::string& key, const std::string& layer) {
  const size_t dot = key.find('.', layer.size() + 1);
  return key.substr(dot);  // ".conv1.weight"
}
bool is_mgn(const std::string& name) {
  return name == "mgn" || name == "mgn_ptl";
}

// The release's MGN (mgn.py) builds `backbone` as nn.Sequential(conv1, bn1, relu, maxpool, layer1,
// layer2, layer3[0]): "backbone.4.0.conv1.weight" -> "backbone.layer1.0.conv1.weight". Other keys
// are returned unchanged.
std::string sequential_backbone_key(const std::string& k) {
  static const char* const names[] = {"conv1",  "bn1",    nullptr,   nullptr,
                                      "layer1", "layer2", "layer3.0"};
  if (k.size() < 11 || !starts(k, "backbone.") || k[10] != '.') return k;  // one digit, a dot
  const int i = k[9] - '0';
  if (i < 0 || i > 6 || !names[i]) return k;
  return "backbone." + std::string(names[i]) + k.substr(10);
}
}  // namespace

std::string MappedState::notice() const {
  if (ignored.empty()) return "";
  std::set<std::string> groups;  // "backbone.layer4", "fc", ...
  for (const auto& key : ignored) {
    const std::string k = starts(key, "module.") ? key.substr(7) : key;
    const size_t a = k.find('.'), b = a == std::string::npos ? a : k.find('.', a + 1);
    groups.insert(k.substr(0, starts(k, "backbone.") ? b : a));
  }
  std::string g;
  for (const auto& s : groups) g += (g.empty() ? "" : ", ") + s;
  return str("ignored ", ignored.size(), " keys that take no part in this model's forward pass (",
             g, ")");
}

std::vector<std::string> MappedState::lines() const {
  std::vector<std::string> all = file_notes;
  if (!ignored.empty()) all.push_back(notice());
  return all;
}

MappedState map_release_keys(const TensorMap& release) {
  MappedState m;
  for (const auto& [key, t] : release) {
    const std::string k = sequential_backbone_key(starts(key, "module.") ? key.substr(7) : key);
    const bool unused = block_of(k, "backbone.layer3") >= 1 || starts(k, "backbone.layer4.") ||
                        starts(k, "backbone.fc.");
    if (unused)
      m.ignored.push_back(key);
    else
      m.state[k] = t;
  }
  return m;
}

MappedState map_torchvision_resnet(const TensorMap& tv, const std::string& model_name) {
  MappedState m;
  const bool mgn = is_mgn(model_name), ptl = starts(model_name, "ptl_");
  for (const auto& [k, t] : tv) {
    if ((mgn || ptl) && starts(k, "fc.")) {
      m.ignored.push_back(k);
    } else if (mgn && block_of(k, "layer3") >= 1) {
      const std::string tail =
          ".0." + std::to_string(block_of(k, "layer3") - 1) + after_block(k, "layer3");
      for (const char* p : {"p1", "p2", "p3"}) m.state[p + tail] = t;
    } else if (mgn && starts(k, "layer4.")) {
      for (const char* p : {"p1", "p2", "p3"}) m.state[std::string(p) + ".1." + k.substr(7)] = t;
    } else {
      m.state[(mgn || ptl) ? "backbone." + k : k] = t;
    }
  }
  return m;
}

MappedState adapt_state_dict(const TensorMap& state, const std::string& model_name) {
  auto has = [&](const char* k) { return state.count(k) > 0; };
  const bool torchvision = has("conv1.weight") && has("layer1.0.conv1.weight");
  const bool release = has("module.backbone.conv1.weight") ||
                       has("backbone.layer4.0.conv1.weight") || has("module.backbone.0.weight") ||
                       has("backbone.0.weight");
  if (torchvision && !starts(model_name, "resnet"))
    return map_torchvision_resnet(state, model_name);
  if (release && is_mgn(model_name)) return map_release_keys(state);
  return MappedState{state, {}, {}};
}

}  // namespace ptl
