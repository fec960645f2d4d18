#include "engine/storage.h"

#include <malloc.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "engine/error.h"
#if PTL_WITH_CUDA
#include "kernels/cuda/memory.h"
#endif

namespace ptl {

namespace {
constexpr size_t kCpuAlignment = 64;

[[noreturn, maybe_unused]] void no_cuda(Device d) {
  fail(str("device ", d.str(), " requested, but this ptl was built without CUDA "
           "(PTL_CUDA=OFF or no CUDA toolkit found); rebuild with -DPTL_CUDA=ON or use --device cpu"));
}
// A training step frees and re-allocates the same activation, gradient and im2col blocks every
// step. glibc's defaults hand them back to the kernel (blocks above a dynamic mmap threshold are
// unmapped; the heap top is trimmed past 128 KiB), so every step page-faults and zeroes them
// again: 5-10% of a ResNet-50 step (docs/performance.md, step 7). Blocks up to 32 MiB (glibc's
// maximum threshold on 64-bit) now stay on the heap and freed heap memory is kept for reuse;
// peak RSS still stays below PyTorch's. Set once per process, before the first CPU block.
bool keep_freed_cpu_memory() {
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  return true;
}
}  // namespace

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
    // aligned_alloc needs a size that is a multiple of the alignment; 0 bytes still gets a block.
    size_t rounded = (nbytes + kCpuAlignment - 1) / kCpuAlignment * kCpuAlignment;
    if (rounded == 0) rounded = kCpuAlignment;
    data_ = std::aligned_alloc(kCpuAlignment, rounded);
    PTL_CHECK(data_ != nullptr, "out of CPU memory: could not allocate ", nbytes, " bytes");
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
    std::free(data_);
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
    std::fprintf(stderr, "ptl: %s memory not freed: %s\n", pinned_ ? "pinned" : device_.str().c_str(),
                 e.what());
  }
#endif
}

void copy_bytes(void* dst, Device dst_dev, const void* src, Device src_dev, size_t nbytes, bool async) {
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
