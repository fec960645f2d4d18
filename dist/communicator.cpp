#include "dist/communicator.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "base/error.h"
#include "dist/mpi_communicator.h"
#include "engine/ops.h"
#include "kernels/dispatch.h"

namespace ptl::dist {

namespace {
class SingleProcess final : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  int local_rank() const override { return 0; }
  std::string name() const override { return "single"; }
  void all_gather(const void* send, size_t bytes, void* recv) override {
    if (recv != send) std::memmove(recv, send, bytes);
  }
  void all_to_all(const void* send, size_t bytes, void* recv) override {
    all_gather(send, bytes, recv);
  }
  void broadcast(void*, size_t, int root) override {
    PTL_CHECK(root == 0, "broadcast from rank ", root, " in a job of one process");
  }
  [[noreturn]] void abort(const std::string& why, int code) override {
    std::fprintf(stderr, "ptl: %s\n", why.c_str());
    std::exit(code);
  }
};

// Each rank owns one slice of `chunk` values of the padded buffer (the padding zeroed): it
// receives every rank's copy of its slice (all-to-all), adds them in rank order, and the summed
// slices are gathered back into `data`. The scratch buffer stays between calls: a fresh one
// would cost its page faults at every step.
template <class T>
void sum_in_place(Communicator& c, T* data, int64_t n) {
  const int64_t w = c.size();
  if (w == 1 || n == 0) return;
  const int64_t chunk = padded_length(c, n) / w;
  std::fill(data + n, data + chunk * w, T(0));
  static thread_local std::vector<T> parts;
  parts.resize(static_cast<size_t>(chunk * w));
  c.all_to_all(data, static_cast<size_t>(chunk) * sizeof(T), parts.data());
  // parts[r * chunk + i]: rank r's value of element rank() * chunk + i. The sum goes straight
  // into this rank's slice of data, which the all-gather then sends in place.
  T* mine = data + c.rank() * chunk;
  cpu::sum_slices(parts.data(), w, chunk, mine);
  c.all_gather(mine, static_cast<size_t>(chunk) * sizeof(T), data);
}

// The same for a buffer without room for the padding: through a padded copy.
template <class T>
void sum_ordered(Communicator& c, T* data, int64_t n) {
  if (c.size() == 1 || n == 0) return;
  static thread_local std::vector<T> padded;
  padded.resize(static_cast<size_t>(padded_length(c, n)));
  std::memcpy(padded.data(), data, static_cast<size_t>(n) * sizeof(T));
  sum_in_place(c, padded.data(), n);
  std::memcpy(data, padded.data(), static_cast<size_t>(n) * sizeof(T));
}

// The same steps on tensors of the communicator's memory, with the slices summed there.
template <class T>
void sum_ordered_on_device(Communicator& c, Tensor& flat) {
  const int64_t w = c.size(), n = flat.numel(), chunk = padded_length(c, n) / w;
  const Device d = flat.device();
  const DType dt = flat.dtype();
  Tensor send = zeros({chunk * w}, dt, d), parts = Tensor::empty({chunk * w}, dt, d),
         mine = Tensor::empty({chunk}, dt, d);
  Tensor head = narrow(send, 0, 0, n);
  copy_(head, flat);
  const size_t bytes = static_cast<size_t>(chunk) * sizeof(T);
  c.all_to_all(send.raw_data(), bytes, parts.raw_data());
  PTL_KERNEL(d, sum_slices<T>)(parts.data<T>(), w, chunk, mine.data<T>());
  c.all_gather(mine.raw_data(), bytes, send.raw_data());
  copy_(flat, narrow(send, 0, 0, n));
}
}  // namespace

std::unique_ptr<Communicator> single_process() {
  return std::make_unique<SingleProcess>();
}

namespace {
Communicator* made_world = nullptr;  // world() once made
}  // namespace

Communicator& world() {
  static std::unique_ptr<Communicator> w = [] {
    std::unique_ptr<Communicator> mpi = mpi_world_if_launched();
    return mpi ? std::move(mpi) : single_process();
  }();
  made_world = w.get();
  return *w;
}

void abort_job_if_distributed(const std::string& why) {
  if (made_world && made_world->size() > 1) made_world->abort(why, 1);
}

int64_t padded_length(const Communicator& c, int64_t n) {
  const int64_t w = c.size();
  return (n + w - 1) / w * w;
}

void sum_in_rank_order(Communicator& c, double* data, int64_t n) {
  sum_ordered(c, data, n);
}
void sum_in_rank_order(Communicator& c, float* data, int64_t n) {
  sum_ordered(c, data, n);
}
void sum_in_rank_order_in_place(Communicator& c, double* data, int64_t n) {
  sum_in_place(c, data, n);
}
void sum_in_rank_order_in_place(Communicator& c, float* data, int64_t n) {
  sum_in_place(c, data, n);
}

void sum_in_rank_order(Communicator& c, Tensor& flat) {
  PTL_CHECK(flat.dim() == 1 && flat.is_contiguous() && flat.device() == c.memory() &&
                (flat.dtype() == DType::F32 || flat.dtype() == DType::F64),
            "sum_in_rank_order: expected a contiguous 1-D float32 or float64 tensor on ",
            c.memory().str(), " (the ", c.name(), " communicator's memory), got ",
            dtype_name(flat.dtype()), " ", flat.shape_str(), " on ", flat.device().str());
  if (flat.device().is_cpu()) {
    if (flat.dtype() == DType::F64)
      sum_ordered(c, flat.data<double>(), flat.numel());
    else
      sum_ordered(c, flat.data<float>(), flat.numel());
  } else if (flat.dtype() == DType::F64) {
    sum_ordered_on_device<double>(c, flat);
  } else {
    sum_ordered_on_device<float>(c, flat);
  }
}

std::string broadcast_text(Communicator& c, const std::string& text) {
  uint64_t n = text.size();
  c.broadcast(&n, sizeof n, 0);
  std::string out = c.rank() == 0 ? text : std::string(n, '\0');
  c.broadcast(out.data(), n, 0);
  return out;
}

bool any_rank(Communicator& c, bool flag) {
  const char mine = flag ? 1 : 0;
  std::vector<char> all(static_cast<size_t>(c.size()));
  c.all_gather(&mine, 1, all.data());
  for (char f : all)
    if (f) return true;
  return false;
}

}  // namespace ptl::dist
