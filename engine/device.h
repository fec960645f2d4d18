// Where a tensor's storage lives. CUDA devices carry an index; a CPU-only build refuses them
// with a clear message at allocation time (see storage.cpp).
#pragma once
#include <string>

namespace ptl {

struct Device {
  enum class Type : uint8_t { CPU, CUDA };
  Type type = Type::CPU;
  int index = 0;

  static Device cpu() { return {}; }
  static Device cuda(int i = 0) { return {Type::CUDA, i}; }
  // Parses "cpu", "cuda", "cuda:1".
  static Device parse(const std::string& s);

  bool is_cpu() const { return type == Type::CPU; }
  bool is_cuda() const { return type == Type::CUDA; }
  std::string str() const { return is_cpu() ? "cpu" : "cuda:" + std::to_string(index); }
  bool operator==(const Device& o) const { return type == o.type && index == o.index; }
  bool operator!=(const Device& o) const { return !(*this == o); }
};

// True when this binary was built with the CUDA backend.
bool cuda_compiled();
// Number of usable CUDA devices; 0 when none (or when the driver is missing), never throws.
int cuda_device_count();

}  // namespace ptl
