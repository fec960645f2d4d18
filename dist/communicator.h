// Collectives between the processes of one data-parallel training job (docs/distributed.md).
//
// A Communicator moves bytes: all_gather, all_to_all and broadcast, with one implementation per
// transport (one process: copies; MPI between processes; NCCL between GPUs). The reductions
// built on them (sum_in_rank_order) add the ranks' values in rank order 0, 1, ..., W-1 on every
// element, whatever the transport's own algorithm would choose, so a job's bits depend on its
// world size only: every rank ends with the same bits, and two runs at the same size agree.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "base/device.h"
#include "engine/tensor.h"

namespace ptl::dist {

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  // The ranks on this machine and this rank's place among them (picks a GPU).
  virtual int local_rank() const = 0;
  virtual std::string name() const = 0;  // "single", "mpi", "nccl"
  // Where the buffers of the collectives live: host memory (one process, MPI) or this rank's
  // GPU (NCCL).
  virtual Device memory() const { return Device::cpu(); }
  // recv (size() * bytes) gets every rank's `bytes` bytes of send, in rank order. In place when
  // send is this rank's block of recv (send == recv + rank() * bytes).
  virtual void all_gather(const void* send, size_t bytes, void* recv) = 0;
  // send and recv hold size() blocks of `bytes`: block j of send goes to rank j, and block j
  // of recv comes from rank j.
  virtual void all_to_all(const void* send, size_t bytes, void* recv) = 0;
  // Root's `bytes` bytes of data overwrite every other rank's.
  virtual void broadcast(void* data, size_t bytes, int root) = 0;
  // Ends every process of the job with `code` (a rank that cannot go on, so no rank waits in a
  // collective for it); prints `why` first.
  [[noreturn]] virtual void abort(const std::string& why, int code) = 0;
  // The watchdog: a collective that waits more than `seconds` for the other ranks ends the job
  // (abort, naming the collective), since a rank stuck without dying would otherwise hold all
  // the others forever; MPI has no timeout of its own. 0 (the default): wait without limit.
  virtual void set_timeout(double seconds) {}
};

// The job's communicator, made on first use: MPI when this process was started by mpirun or
// mpiexec and ptl was built with PTL_DIST, else the single process (size 1).
Communicator& world();
// A communicator of one process, whatever the launcher (tests, and the fallback of world()).
std::unique_ptr<Communicator> single_process();
// For an error that stops this process: when world() has been made and has several ranks, ends
// the whole job with `why` (abort), so that no rank waits for this one in a collective (and this
// one does not wait for them in MPI_Finalize); otherwise returns.
void abort_job_if_distributed(const std::string& why);

// data[i] = the sum over ranks of data[i], added in rank order, on every rank. Costs two
// transfers of n values (each rank sums a 1/W slice: all_to_all, then all_gather), as a ring
// all-reduce does.
void sum_in_rank_order(Communicator& c, double* data, int64_t n);
void sum_in_rank_order(Communicator& c, float* data, int64_t n);
// The same without copying `data` in and out: it must have room for padded_length(c, n) values
// (n rounded up to a multiple of the world size; what the padding holds is overwritten).
int64_t padded_length(const Communicator& c, int64_t n);
void sum_in_rank_order_in_place(Communicator& c, double* data, int64_t n);
void sum_in_rank_order_in_place(Communicator& c, float* data, int64_t n);
// The same for a contiguous 1-D float32 or float64 tensor in the communicator's memory (on the
// GPU for NCCL, where the slices are summed too). On the GPU it runs the collectives at world
// size 1 as well, so one process checks that path.
void sum_in_rank_order(Communicator& c, Tensor& flat);
// Rank 0's text on every rank.
std::string broadcast_text(Communicator& c, const std::string& text);
// Whether `flag` is true on any rank (a collective: every rank must call it).
bool any_rank(Communicator& c, bool flag);

}  // namespace ptl::dist
