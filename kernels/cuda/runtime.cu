#include "kernels/cuda/runtime.h"

#include <atomic>
#include <cstdlib>
#include <string>

#include "base/error.h"
#include "kernels/cuda/check.h"
#include "kernels/cuda/math_mode.h"
#include "kernels/cuda/per_device.h"

namespace ptl::cuda {

void fail_call(const char* call, const char* file, int line, const char* library,
               const char* message) {
  fail(str(call, " failed at ", file, ":", line, " (", library, "): ", message));
}

namespace {
// cudaGetDeviceCount's answer, asked once: the visible devices are fixed when the runtime starts,
// and Storage asks on every pinned allocation (each loader batch).
struct DeviceCount {
  int count = 0;
  const char* error = "";  // the runtime's error string when the call failed
};

const DeviceCount& device_count_result() {
  static const DeviceCount result = [] {
    DeviceCount r;
    // Without a driver this fails ("CUDA driver version is insufficient", "no CUDA-capable
    // device is detected"): no device, and the reason kept for device_count_error().
    const cudaError_t err = cudaGetDeviceCount(&r.count);
    if (err != cudaSuccess) {
      cudaGetLastError();  // clear the sticky error
      r.count = 0;
      r.error = cudaGetErrorString(err);
    }
    return r;
  }();
  return result;
}
}  // namespace

int device_count() {
  return device_count_result().count;
}
const char* device_count_error() {
  return device_count_result().error;
}

std::string describe_runtime() {
  std::string out;
  int runtime = 0, driver = 0;
  cudaRuntimeGetVersion(&runtime);
  cudaDriverGetVersion(&driver);  // 0 when no driver is installed
  out += str("CUDA runtime ", runtime / 1000, ".", runtime % 1000 / 10, ", driver supports ",
             driver / 1000, ".", driver % 1000 / 10, "\n");
  if (device_count() == 0)
    out += str("devices: none (cudaGetDeviceCount: ", device_count_error(), ")\n");
  for (int d = 0; d < device_count(); ++d) {
    cudaDeviceProp p{};
    PTL_CUDA_CHECK(cudaGetDeviceProperties(&p, d));
    out += str("cuda:", d, ": ", p.name, ", compute capability ", p.major, ".", p.minor, ", ",
               p.multiProcessorCount, " multiprocessors, ", p.totalGlobalMem >> 20, " MiB, L2 ",
               p.l2CacheSize >> 20, " MiB\n");
  }
  // The libraries actually loaded (the dynamic linker's choice), not the headers built against.
  int cublas_major = 0, cublas_minor = 0, cublas_patch = 0;
  cublasGetProperty(MAJOR_VERSION, &cublas_major);
  cublasGetProperty(MINOR_VERSION, &cublas_minor);
  cublasGetProperty(PATCH_LEVEL, &cublas_patch);
  const size_t cudnn = cudnnGetVersion();
  out += str("cuDNN ", cudnn / 10000, ".", cudnn % 10000 / 100, ".", cudnn % 100, " (built with ",
             CUDNN_MAJOR, ".", CUDNN_MINOR, ".", CUDNN_PATCHLEVEL, "), cuBLAS ", cublas_major, ".",
             cublas_minor, ".", cublas_patch, "\n");
  return out;
}

bool env_flag(const char* name) {
  const char* v = std::getenv(name);
  return v && *v && std::string(v) != "0";
}

int current_device() {
  int d = 0;
  PTL_CUDA_CHECK(cudaGetDevice(&d));
  return d;
}

DeviceGuard::DeviceGuard(int device) : device_(device) {
  PTL_CUDA_CHECK(cudaGetDevice(&previous_));
  if (previous_ != device_) PTL_CUDA_CHECK(cudaSetDevice(device_));
}

DeviceGuard::~DeviceGuard() {
  if (previous_ != device_) cudaSetDevice(previous_);  // cannot fail for a device that was current
}

namespace {
PerDevice<cudaStream_t>& streams() {
  static auto& s = *new PerDevice<cudaStream_t>;  // leaked: per_device.h
  return s;
}
}  // namespace

cudaStream_t current_stream(int device) {
  return streams().get(device, [](int d) {
    DeviceGuard guard(d);
    cudaStream_t s = nullptr;
    PTL_CUDA_CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
    return std::make_unique<cudaStream_t>(s);
  });
}

std::vector<std::pair<int, cudaStream_t>> created_streams() {
  std::vector<std::pair<int, cudaStream_t>> out;
  streams().for_each([&out](int d, cudaStream_t s) { out.emplace_back(d, s); });
  return out;
}

namespace {
// The switches of math_mode.h, read when a plan is made or a kernel launched.
std::atomic<bool> tf32_allowed{false}, deterministic_convs{true}, direct_convs{false},
    split_bn{false}, engine_heuristics{false};
}  // namespace

void set_allow_tf32(bool on) {
  tf32_allowed = on;
}
bool allow_tf32() {
  return tf32_allowed;
}
void set_deterministic_convolutions(bool on) {
  deterministic_convs = on;
}
bool deterministic_convolutions() {
  return deterministic_convs;
}
void set_direct_convolutions(bool on) {
  direct_convs = on;
}
bool direct_convolutions() {
  return direct_convs;
}
void set_split_batchnorm(bool on) {
  split_bn = on;
}
bool split_batchnorm() {
  return split_bn;
}
void set_cudnn_engine_heuristics(bool on) {
  engine_heuristics = on;
}
bool cudnn_engine_heuristics() {
  return engine_heuristics;
}

void copy_async(void* dst, bool dst_on_device, const void* src, bool src_on_device, size_t nbytes,
                int device) {
  if (nbytes == 0) return;
  const cudaMemcpyKind kind =
      dst_on_device ? (src_on_device ? cudaMemcpyDeviceToDevice : cudaMemcpyHostToDevice)
                    : (src_on_device ? cudaMemcpyDeviceToHost : cudaMemcpyHostToHost);
  const cudaStream_t stream = current_stream(device);
  DeviceGuard guard(device);  // a loader thread's current device may be another
  PTL_CUDA_CHECK(cudaMemcpyAsync(dst, src, nbytes, kind, stream));
}

void copy(void* dst, bool dst_on_device, const void* src, bool src_on_device, size_t nbytes,
          int device) {
  // On the ptl stream, not with cudaMemcpy: the legacy default stream does not wait for a
  // non-blocking stream, so cudaMemcpy could read a result before its kernel has written it.
  copy_async(dst, dst_on_device, src, src_on_device, nbytes, device);
  synchronize(device);
}

void synchronize(int device) {
  const cudaStream_t stream = current_stream(device);
  DeviceGuard guard(device);
  PTL_CUDA_CHECK(cudaStreamSynchronize(stream));
}

}  // namespace ptl::cuda
