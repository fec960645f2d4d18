// Waiting for a collective that runs asynchronously (MPI's nonblocking calls, NCCL on a CUDA
// stream) with a time limit: MPI and NCCL would both wait forever for a rank that is stuck.
#pragma once
#include <functional>
#include <string>

namespace ptl::dist {

// Polls `done` until it returns true and returns the seconds waited, or stops and returns them
// as soon as they pass `timeout_s` (> 0; 0: no limit) with `done` still false, setting *timed_out.
// For the first half second the polls follow each other at once (MPI's own blocking calls spin
// too, and MPI progresses a transfer only while it is polled); later ones sleep up to 1 ms in
// between, so a rank waiting long (for rank 0's evaluation) leaves the cores to the others.
double poll_until(const std::function<bool()>& done, double timeout_s, bool* timed_out);
// What a rank says when it ends the job after waiting `waited` seconds in `what`.
std::string stuck_message(double waited, const char* what, double timeout_s);

}  // namespace ptl::dist
