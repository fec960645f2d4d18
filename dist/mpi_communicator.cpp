#include "dist/mpi_communicator.h"

#include <climits>
#include <cstdio>
#include <cstdlib>

#include "base/error.h"
#include "dist/poll.h"

#if PTL_WITH_MPI
#include <mpi.h>
#endif

namespace ptl::dist {

int launcher_world_size() {
  // Open MPI; MPICH and Intel MPI (PMI).
  for (const char* var : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE"})
    if (const char* v = std::getenv(var)) return std::atoi(v);
  return 0;
}

#if PTL_WITH_MPI
namespace {
void check(int rc, const char* what) {
  if (rc == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, text, &len);
  fail(str("MPI ", what, " failed: ", std::string(text, static_cast<size_t>(len))));
}

int count_of(size_t bytes) {
  PTL_CHECK(bytes <= static_cast<size_t>(INT_MAX), "MPI: a message of ", bytes,
            " bytes is over MPI's 2 GiB count limit");
  return static_cast<int>(bytes);
}

class Mpi final : public Communicator {
 public:
  Mpi() {
    int provided = 0;
    // Only the training thread calls MPI (the loader's threads never do).
    check(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
    MPI_Comm local;
    check(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &local),
          "MPI_Comm_split_type");
    MPI_Comm_rank(local, &local_rank_);
    MPI_Comm_free(&local);
  }
  ~Mpi() override {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized) MPI_Finalize();
  }
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  int local_rank() const override { return local_rank_; }
  std::string name() const override { return "mpi"; }
  void all_gather(const void* send, size_t bytes, void* recv) override {
    // MPI forbids overlapping buffers: in place is MPI_IN_PLACE there.
    const bool in_place =
        send == static_cast<const char*>(recv) + static_cast<size_t>(rank_) * bytes;
    MPI_Request req;
    check(MPI_Iallgather(in_place ? MPI_IN_PLACE : send, count_of(bytes), MPI_BYTE, recv,
                         count_of(bytes), MPI_BYTE, MPI_COMM_WORLD, &req),
          "MPI_Iallgather");
    wait(req, "an all-gather");
  }
  void all_to_all(const void* send, size_t bytes, void* recv) override {
    MPI_Request req;
    check(MPI_Ialltoall(send, count_of(bytes), MPI_BYTE, recv, count_of(bytes), MPI_BYTE,
                        MPI_COMM_WORLD, &req),
          "MPI_Ialltoall");
    wait(req, "an all-to-all");
  }
  void broadcast(void* data, size_t bytes, int root) override {
    MPI_Request req;
    check(MPI_Ibcast(data, count_of(bytes), MPI_BYTE, root, MPI_COMM_WORLD, &req), "MPI_Ibcast");
    wait(req, "a broadcast");
  }
  void set_timeout(double seconds) override { timeout_s_ = seconds; }
  [[noreturn]] void abort(const std::string& why, int code) override {
    std::fprintf(stderr, "ptl: rank %d: %s\n", rank_, why.c_str());
    std::fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, code);
    std::exit(code);
  }

 private:
  // Completes a nonblocking collective, ending the job past the timeout.
  void wait(MPI_Request& req, const char* what) {
    bool timed_out = false;
    const double waited = poll_until(
        [&] {
          int done = 0;
          check(MPI_Test(&req, &done, MPI_STATUS_IGNORE), what);
          return done != 0;
        },
        timeout_s_, &timed_out);
    if (timed_out) abort(stuck_message(waited, what, timeout_s_), 1);
  }

  int rank_ = 0, size_ = 1, local_rank_ = 0;
  double timeout_s_ = 0;
};
}  // namespace

std::unique_ptr<Communicator> mpi_world_if_launched() {
  if (launcher_world_size() <= 1) return nullptr;
  return std::make_unique<Mpi>();
}
#else
std::unique_ptr<Communicator> mpi_world_if_launched() {
  const int n = launcher_world_size();
  PTL_CHECK(n <= 1, "started by a launcher as one of ", n,
            " processes, but this ptl was built without MPI (PTL_DIST); install Open MPI "
            "(scripts/install-deps.sh) and rebuild, or run without mpirun");
  return nullptr;
}
#endif

}  // namespace ptl::dist
