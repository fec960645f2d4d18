#include "train/checkpoint.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "engine/json.h"
#include "engine/ops.h"

namespace ptl {

namespace fs = std::filesystem;

std::string checkpoint_name(int64_t epoch, int64_t step) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "ckpt_e%05lld_s%09lld.safetensors", static_cast<long long>(epoch),
                static_cast<long long>(step));
  return buf;
}

void save_checkpoint(const std::string& path, const Checkpoint& c) {
  TensorMap all;
  for (const auto& [k, t] : c.model) all[kCheckpointModelPrefix + k] = t;
  for (const auto& [k, t] : c.optim) all["optim." + k] = t;
  for (const auto& [k, t] : c.states) all["state." + k] = t;
  for (const auto& [k, v] : c.rng)
    all["rng." + k] = from_vector(
        std::vector<int64_t>{static_cast<int64_t>(v.first), static_cast<int64_t>(v.second)}, {2});
  save_safetensors(path, all,
                   {{"format", kCheckpointFormat},
                    {"epoch", std::to_string(c.epoch)},
                    {"step", std::to_string(c.step)},
                    {"epoch_step", std::to_string(c.epoch_step)},
                    {"best", exact_number(c.best)},
                    {"epoch_loss_sum", exact_number(c.epoch_loss_sum)},
                    {"epoch_acc_sum", exact_number(c.epoch_acc_sum)},
                    {"config", c.config_yaml}});
}

Checkpoint load_checkpoint(const std::string& path) {
  TensorMap all = load_safetensors(path);
  std::map<std::string, std::string> meta = load_safetensors_metadata(path);
  PTL_CHECK(meta["format"] == kCheckpointFormat, path,
            ": not a ptl checkpoint (metadata format is '", meta["format"],
            "'); weights-only files go to model.pretrained instead");
  Checkpoint c;
  for (auto& [k, t] : all) {
    // An init-capture: clang before 16 cannot capture a structured binding (C++20).
    auto strip = [&key = k](const char* p) { return key.substr(std::string(p).size()); };
    if (k.rfind(kCheckpointModelPrefix, 0) == 0)
      c.model[strip(kCheckpointModelPrefix)] = t;
    else if (k.rfind("optim.", 0) == 0)
      c.optim[strip("optim.")] = t;
    else if (k.rfind("state.", 0) == 0)
      c.states[strip("state.")] = t;
    else if (k.rfind("rng.", 0) == 0) {
      std::vector<int64_t> v = t.to_int_vector();
      PTL_CHECK(v.size() == 2, path, ": rng entry '", k, "' must hold [seed, offset]");
      c.rng[strip("rng.")] = {static_cast<uint64_t>(v[0]), static_cast<uint64_t>(v[1])};
    }
  }
  try {
    c.epoch = std::stoll(meta.at("epoch"));
    c.step = std::stoll(meta.at("step"));
    c.epoch_step = std::stoll(meta.at("epoch_step"));
    c.best = std::stod(meta.at("best"));
  } catch (const std::exception&) {
    fail(str(path, ": checkpoint metadata lacks epoch, step, epoch_step or best"));
  }
  if (meta.count("epoch_loss_sum")) {  // absent in checkpoints written before they were kept
    c.epoch_loss_sum = std::stod(meta["epoch_loss_sum"]);
    c.epoch_acc_sum = std::stod(meta["epoch_acc_sum"]);
  }
  c.config_yaml = meta["config"];
  return c;
}

std::vector<std::string> list_checkpoints(const std::string& dir) {
  std::vector<std::string> out;
  if (!fs::is_directory(dir)) return out;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string n = e.path().filename().string();
    if (n.rfind("ckpt_e", 0) == 0 && n.size() > 12 && n.substr(n.size() - 12) == ".safetensors")
      out.push_back(e.path().string());
  }
  std::sort(out.begin(), out.end());  // zero-padded names sort by (epoch, step)
  return out;
}

void prune_checkpoints(const std::string& dir, int64_t keep) {
  std::vector<std::string> all = list_checkpoints(dir);
  for (size_t i = 0; i + static_cast<size_t>(std::max<int64_t>(keep, 1)) < all.size(); ++i)
    fs::remove(all[i]);
}

}  // namespace ptl
