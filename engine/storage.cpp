#include "engine/storage.h"

#include <malloc.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>

#include "base/error.h"
#if PTL_WITH_CUDA
#include "kernels/cuda/memory.h"
#endif

namespace ptl {

namespace {
constexpr size_t kCpuAlignment = 64;

[[noreturn, maybe_unused]] void no_cuda(Device d) {
  fail(str(
      "device ", d.str(),
      " requested, but this ptl was built without CUDA "
      "(PTL_CUDA=OFF or no CUDA toolkit found); rebuild with -DPTL_CUDA=ON or use --device cpu"));
}
// A training step frees and re-allocates the same activation, gradient and im2col blocks every
// step. glibc's defaults hand them back to the kernel (blocks above a dynamic mmap threshold are
// unmapped; the heap top is trimmed past 128 KiB), so every step page-faults and zeroes them
// again: 5-10% of a ResNet-50 step (docs/performance.md, step 7). Blocks up to 32 MiB (glibc's
// maximum threshold on 64-bit) now stay on the heap and freed heap memory is kept for reuse:
// never trimmed (a threshold of 1 GiB was not enough: once the free top of a heap passed it,
// glibc gave all of it back, and ResNet-50 at 3x256x128 still faulted 52,000 pages a step; now
// 12,000, and the same peak RSS). Peak RSS still stays below PyTorch's. Set once per process,
// before the first CPU block.
bool keep_freed_cpu_memory() {
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, -1);
  return true;
}

// The bytes a CPU block of nbytes takes: aligned_alloc needs a multiple of the alignment, and
// 0 bytes still gets a block.
size_t cpu_block_bytes(size_t nbytes) {
  return std::max(kCpuAlignment, (nbytes + kCpuAlignment - 1) / kCpuAlignment * kCpuAlignment);
}

std::atomic<size_t> g_cpu_in_use{0}, g_cpu_budget{0};

std::string mib(size_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(bytes) / 1048576.0);
  return buf;
}

// The first number on the line of `file` that starts with `key` (0 if none); "max" reads as 0.
size_t read_number(const char* file, const std::string& key) {
  std::ifstream f(file);
  std::string line;
  while (std::getline(f, line))
    if (line.rfind(key, 0) == 0) {
      const size_t at = line.find_first_of("0123456789", key.size());
      return at == std::string::npos ? 0 : std::stoull(line.substr(at));
    }
  return 0;
}
}  // namespace

RecordedMemory::~RecordedMemory() {
  for (auto [data, bytes] : kept_) {
    std::free(data);
    g_cpu_in_use -= bytes;
  }
}

void RecordedMemory::keep(void* data, size_t bytes) {
  std::lock_guard<std::mutex> lock(mu_);
  kept_.emplace_back(data, bytes);
}

std::shared_ptr<RecordedMemory>& recording_memory() {
  thread_local std::shared_ptr<RecordedMemory> memory;
  return memory;
}

size_t cpu_bytes_in_use() {
  return g_cpu_in_use.load();
}
void set_cpu_memory_budget(size_t bytes) {
  g_cpu_budget = bytes;
}
size_t cpu_memory_budget() {
  return g_cpu_budget.load();
}

size_t available_memory_bytes() {
  size_t avail = read_number("/proc/meminfo", "MemAvailable:") * 1024;
  const size_t max = read_number("/sys/fs/cgroup/memory.max", ""),
               cur = read_number("/sys/fs/cgroup/memory.current", "");
  if (max > 0) {
    const size_t room = max > cur ? max - cur : 0;
    avail = avail == 0 ? room : std::min(avail, room);
  }
  return avail;
}

Storage::Storage(size_t nbytes, Device device, bool pinned) : nbytes_(nbytes), device_(device) {
#if PTL_WITH_CUDA
  if (device.is_cpu() && pinned && nbytes > 0 && cuda_device_count() > 0) {
    data_ = cuda::pinned_alloc(nbytes);
    pinned_ = true;
    return;
  }
#endif
  if (device.is_cpu()) {
    [[maybe_unused]] static const bool tuned = keep_freed_cpu_memory();
    const size_t rounded = cpu_block_bytes(nbytes);
    const size_t held = g_cpu_in_use.fetch_add(rounded) + rounded, budget = g_cpu_budget.load();
    if (budget > 0 && held > budget) {
      g_cpu_in_use -= rounded;
      throw OutOfMemoryError(str("out of CPU memory: a tensor of ", mib(nbytes),
                                 " would bring ptl's tensors to ", mib(held), ", past the ",
                                 mib(budget), " this run may use"));
    }
    data_ = std::aligned_alloc(kCpuAlignment, rounded);
    if (!data_) {
      g_cpu_in_use -= rounded;
      throw OutOfMemoryError(str("out of CPU memory: could not allocate ", mib(nbytes), " with ",
                                 mib(held - rounded), " held by ptl's tensors"));
    }
    recorded_ = recording_memory();
    return;
  }
#if PTL_WITH_CUDA
  data_ = cuda::device_alloc(nbytes, device.index);
#else
  no_cuda(device);
#endif
}

Storage::~Storage() {
  if (device_.is_cpu() && !pinned_) {
    // Memory a recorded graph may replay into stays its own (RecordedMemory).
    const std::shared_ptr<RecordedMemory>& keeper = recorded_ ? recorded_ : recording_memory();
    if (keeper) {
      keeper->keep(data_, cpu_block_bytes(nbytes_));
      return;
    }
    std::free(data_);
    g_cpu_in_use -= cpu_block_bytes(nbytes_);
    return;
  }
#if PTL_WITH_CUDA
  // The CUDA frees can fail (a sticky error from an earlier kernel, a driver shutting down); a
  // destructor must not throw, so the block is reported and left to the driver.
  try {
    if (pinned_)
      cuda::pinned_free(data_);  // reused only after the copies queued from it have run
    else
      cuda::device_free(data_, nbytes_, device_.index);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ptl: %s memory not freed: %s\n",
                 pinned_ ? "pinned" : device_.str().c_str(), e.what());
  }
#endif
}

void copy_bytes(void* dst, Device dst_dev, const void* src, Device src_dev, size_t nbytes,
                bool async) {
  if (nbytes == 0) return;
  if (dst_dev.is_cpu() && src_dev.is_cpu()) {
    std::memcpy(dst, src, nbytes);
    return;
  }
#if PTL_WITH_CUDA
  // On the stream of the device side (the source's for device-to-device copies).
  const int device = src_dev.is_cuda() ? src_dev.index : dst_dev.index;
  if (async && src_dev.is_cpu() && dst_dev.is_cuda())
    cuda::copy_async(dst, true, src, false, nbytes, device);
  else
    cuda::copy(dst, dst_dev.is_cuda(), src, src_dev.is_cuda(), nbytes, device);
#else
  no_cuda(dst_dev.is_cuda() ? dst_dev : src_dev);
#endif
}

}  // namespace ptl
