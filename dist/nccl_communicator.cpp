#include "dist/nccl_communicator.h"

#include <cstdlib>

#include "base/error.h"

#if PTL_WITH_NCCL
#include <cuda_runtime.h>
#include <nccl.h>

#include "dist/poll.h"
#include "kernels/cuda/runtime.h"
#endif

namespace ptl::dist {

#if PTL_WITH_NCCL
namespace {
void check(ncclResult_t rc, const char* what) {
  PTL_CHECK(rc == ncclSuccess, "NCCL ", what, " failed: ", ncclGetErrorString(rc));
}

class Nccl final : public Communicator {
 public:
  Nccl(Communicator& world, int device) : world_(world), device_(device) {
    PTL_CHECK(cudaSetDevice(device) == cudaSuccess, "NCCL: cannot use CUDA device ", device);
    ncclUniqueId id{};
    if (world.rank() == 0) check(ncclGetUniqueId(&id), "ncclGetUniqueId");
    world.broadcast(&id, sizeof id, 0);
    check(ncclCommInitRank(&comm_, world.size(), id, world.rank()), "ncclCommInitRank");
    stream_ = cuda::current_stream(device);
  }
  ~Nccl() override { ncclCommDestroy(comm_); }
  int rank() const override { return world_.rank(); }
  int size() const override { return world_.size(); }
  int local_rank() const override { return world_.local_rank(); }
  std::string name() const override { return "nccl"; }
  Device memory() const override { return Device::cuda(device_); }
  void all_gather(const void* send, size_t bytes, void* recv) override {
    check(ncclAllGather(send, recv, bytes, ncclUint8, comm_, stream_), "ncclAllGather");
    wait("an all-gather");
  }
  void all_to_all(const void* send, size_t bytes, void* recv) override {
    // NCCL has no all-to-all of its own: a group of point-to-point transfers.
    check(ncclGroupStart(), "ncclGroupStart");
    for (int r = 0; r < size(); ++r) {
      const size_t at = static_cast<size_t>(r) * bytes;
      check(ncclSend(static_cast<const char*>(send) + at, bytes, ncclUint8, r, comm_, stream_),
            "ncclSend");
      check(ncclRecv(static_cast<char*>(recv) + at, bytes, ncclUint8, r, comm_, stream_),
            "ncclRecv");
    }
    check(ncclGroupEnd(), "ncclGroupEnd");
    wait("an all-to-all");
  }
  void broadcast(void* data, size_t bytes, int root) override {
    check(ncclBroadcast(data, data, bytes, ncclUint8, root, comm_, stream_), "ncclBroadcast");
    wait("a broadcast");
  }
  [[noreturn]] void abort(const std::string& why, int code) override {
    ncclCommAbort(comm_);
    world_.abort(why, code);
    std::exit(code);  // not reached: world_.abort does not return either
  }
  void set_timeout(double seconds) override {
    timeout_s_ = seconds;
    world_.set_timeout(seconds);
  }

 private:
  // Waits for the stream; an asynchronous NCCL error or the timeout ends the job.
  void wait(const char* what) {
    bool timed_out = false;
    const double waited = poll_until(
        [&] {
          const cudaError_t q = cudaStreamQuery(stream_);
          if (q == cudaSuccess) return true;
          PTL_CHECK(q == cudaErrorNotReady, "NCCL ", what, ": CUDA error ", cudaGetErrorString(q));
          ncclResult_t async = ncclSuccess;
          check(ncclCommGetAsyncError(comm_, &async), "ncclCommGetAsyncError");
          if (async != ncclSuccess && async != ncclInProgress)
            abort(str("NCCL ", what, " failed: ", ncclGetErrorString(async)), 1);
          return false;
        },
        timeout_s_, &timed_out);
    if (timed_out) abort(stuck_message(waited, what, timeout_s_), 1);
  }

  Communicator& world_;
  int device_;
  ncclComm_t comm_ = nullptr;
  cudaStream_t stream_ = nullptr;
  double timeout_s_ = 0;
};
}  // namespace

bool nccl_compiled() {
  return true;
}

std::unique_ptr<Communicator> nccl_communicator(Communicator& world, int device) {
  return std::make_unique<Nccl>(world, device);
}
#else
bool nccl_compiled() {
  return false;
}

std::unique_ptr<Communicator> nccl_communicator(Communicator&, int) {
  fail(
      "this ptl was built without NCCL (it needs the CUDA backend, MPI and NCCL from the CUDA "
      "toolkit); gradients of CUDA tensors go through the host and MPI");
}
#endif

}  // namespace ptl::dist
