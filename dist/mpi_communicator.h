// The MPI communicator (Open MPI, MPICH: any MPI-3 library): CPU buffers between processes
// started by mpirun / mpiexec (or srun), on one machine or several.
#pragma once
#include <memory>

#include "dist/communicator.h"

namespace ptl::dist {

// The environment variables a launcher sets for its processes; 0 when none is set.
int launcher_world_size();

// MPI_COMM_WORLD when a launcher started this process with more than one rank (MPI is
// initialised here and finalised at exit); null otherwise. Under a launcher with more than one
// rank, a build without PTL_DIST throws ptl::Error saying so rather than training the same
// model W times into the same folder.
std::unique_ptr<Communicator> mpi_world_if_launched();

}  // namespace ptl::dist
