#include "engine/weights_file.h"

#include <cstdio>

#include "engine/pth.h"

namespace ptl {

namespace {
// "12 34 ab ..." : the first bytes of an unrecognised file.
std::string first_bytes(const std::string& bytes) {
  std::string s;
  char b[4];
  for (size_t k = 0; k < bytes.size() && k < 8; ++k) {
    std::snprintf(b, sizeof b, "%02x", static_cast<unsigned char>(bytes[k]));
    s += (k ? " " : "") + std::string(b);
  }
  return s;
}

void strip_data_parallel_prefix(WeightsFile& w) {
  const std::string prefix = "module.";
  if (w.tensors.empty()) return;
  for (const auto& [k, t] : w.tensors)
    if (k.rfind(prefix, 0) != 0) return;
  TensorMap stripped;
  for (auto& [k, t] : w.tensors) stripped[k.substr(prefix.size())] = t;
  w.tensors = std::move(stripped);
  w.notes.push_back("removed nn.DataParallel's prefix 'module.' from every key");
}
}  // namespace

WeightsFile parse_weights_file(const std::string& bytes, const std::string& what) {
  WeightsFile w;
  if (looks_like_safetensors(bytes)) {
    w.tensors = parse_safetensors(bytes, what);
    const auto meta = parse_safetensors_metadata(bytes, what);
    auto format = meta.find("format");
    if (format != meta.end() && format->second == kCheckpointFormat) {
      TensorMap model;
      const std::string prefix = kCheckpointModelPrefix;
      for (const auto& [k, t] : w.tensors)
        if (k.rfind(prefix, 0) == 0) model[k.substr(prefix.size())] = t;
      w.tensors = std::move(model);
      auto epoch = meta.find("epoch");
      w.format = "ptl training checkpoint (model tensors only, after epoch " +
                 (epoch == meta.end() ? std::string("?") : epoch->second) + ")";
    } else {
      w.format = "safetensors weights";
    }
  } else if (looks_like_pth(bytes)) {
    PthFile p = parse_pth(bytes, what);
    w.tensors = std::move(p.tensors);
    w.notes = std::move(p.notes);
    w.format = p.format + " file of torch.save";
  } else {
    PTL_CHECK(!(bytes.size() > 262 && bytes.compare(257, 5, "ustar") == 0), what,
              ": a tar archive (the torch.save format before PyTorch 0.4), which ptl does not "
              "read; load it and save it again with a PyTorch of 1.6 or later");
    fail(str(what, ": not a weights file: neither safetensors nor a file of torch.save (",
             bytes.empty() ? "it is empty" : "it starts with " + first_bytes(bytes),
             "); ptl reads .safetensors files, training checkpoints and .pth files"));
  }
  strip_data_parallel_prefix(w);
  return w;
}

WeightsFile read_weights_file(const std::string& path) {
  return parse_weights_file(read_file_bytes(path), path);
}

TensorMap load_model_weights(const std::string& path) {
  return read_weights_file(path).tensors;
}

}  // namespace ptl
