// The NCCL communicator: the collectives between the GPUs of a data-parallel job, on CUDA
// memory (NCCL ships with the CUDA toolkit). Its unique id is made by rank 0 and broadcast over
// the job's MPI world; each rank uses its own GPU.
#pragma once
#include <memory>

#include "dist/communicator.h"

namespace ptl::dist {

// Whether this ptl was built with NCCL (PTL_DIST with the CUDA backend and NCCL found).
bool nccl_compiled();

// A communicator over the GPUs of `world`'s ranks, this rank on CUDA device `device`, with the
// ranks and sizes of `world` (which must outlive it). Its collectives run on ptl's stream of
// that device and return when done; abort ends the NCCL communicator, then the job through
// `world`. Throws ptl::Error in a build without NCCL.
std::unique_ptr<Communicator> nccl_communicator(Communicator& world, int device);

}  // namespace ptl::dist
