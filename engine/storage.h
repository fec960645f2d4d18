// Reference-counted raw memory on one device. CPU memory is 64-byte aligned (AVX-512 lines and
// cache lines); CUDA memory comes from the CUDA backend's allocator.
#pragma once
#include <cstddef>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include "base/error.h"
#include "engine/device.h"

namespace ptl {

// The CPU memory of a recorded graph (engine/device_graph.h's stand-in for a CUDA graph on the
// CPU): a replay reads and writes the pointers its recorded kernels were given, so while a
// recording is active on the thread every CPU storage allocated, and every one freed, hands its
// memory here; it is freed when the recording's last owner (the graph, a storage allocated
// during the recording) is gone, as a CUDA graph's private pool.
class RecordedMemory {
 public:
  RecordedMemory() = default;
  ~RecordedMemory();
  RecordedMemory(const RecordedMemory&) = delete;
  RecordedMemory& operator=(const RecordedMemory&) = delete;
  void keep(void* data, size_t nbytes);

 private:
  std::mutex mu_;
  std::vector<std::pair<void*, size_t>> kept_;
};
// The memory of the recording active on this thread (set by DeviceGraph), or null.
std::shared_ptr<RecordedMemory>& recording_memory();

class Storage {
 public:
  // pinned: page-locked host memory (CPU only) so copies to a GPU can run asynchronously; a
  // build or machine without CUDA gives ordinary memory.
  Storage(size_t nbytes, Device device, bool pinned = false);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() { return data_; }
  const void* data() const { return data_; }
  size_t nbytes() const { return nbytes_; }
  Device device() const { return device_; }
  bool pinned() const { return pinned_; }
  // Written by kernels the thread is recording and has not run yet: the host cannot read it.
  bool recorded_unrun() const { return recorded_ && recorded_ == recording_memory(); }

 private:
  void* data_ = nullptr;
  size_t nbytes_ = 0;
  Device device_;
  bool pinned_ = false;
  std::shared_ptr<RecordedMemory> recorded_;  // allocated during that recording
};

// CPU tensor memory accounting. Linux grants allocations it cannot back (overcommit) and then
// kills the process without a word when the pages are touched; so ptl counts the bytes its
// live CPU storages hold and, with a budget set, refuses an allocation past it with
// OutOfMemoryError, which says how much was asked, held and allowed.
class OutOfMemoryError : public Error {
 public:
  using Error::Error;
};
size_t cpu_bytes_in_use();
void set_cpu_memory_budget(size_t bytes);  // 0: no budget
size_t cpu_memory_budget();
// Memory a process may still take now: MemAvailable from /proc/meminfo, capped by the room left
// under the cgroup's memory.max (a container's or a Slurm job's limit). 0 when neither is known.
size_t available_memory_bytes();

// Copies nbytes between two storages' raw pointers on any pair of devices; the copy has
// finished when it returns. async (pinned host source, CUDA destination): the copy is only
// queued on the device's stream, ahead of the kernels that will read it.
void copy_bytes(void* dst, Device dst_dev, const void* src, Device src_dev, size_t nbytes,
                bool async = false);

}  // namespace ptl
