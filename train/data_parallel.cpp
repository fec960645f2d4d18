#include "train/data_parallel.h"

#include <cstring>

#include "base/error.h"
#include "dist/nccl_communicator.h"
#include "engine/ops.h"
#include "layers/layers.h"

namespace ptl {

namespace {
uint64_t fnv1a(const std::string& s, uint64_t h = 1469598103934665603ull) {
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

std::string model_signature(const Model& m) {
  std::string s;
  for (const auto& [name, p] : m.named_parameters()) s += name + " " + p.shape_str() + "\n";
  for (const auto& [name, b] : m.named_buffers()) s += name + " " + b.shape_str() + "\n";
  return s;
}

// The first line where two texts differ, for the error message.
std::string first_difference(const std::string& a, const std::string& b) {
  size_t i = 0;
  while (i < a.size() && i < b.size() && a[i] == b[i]) ++i;
  const size_t start = a.rfind('\n', i == 0 ? 0 : i - 1);
  const size_t from = start == std::string::npos ? 0 : start + 1;
  auto line = [&](const std::string& t) { return t.substr(from, t.find('\n', from) - from); };
  return str("rank 0 has '", line(a), "', this rank '", line(b), "'");
}

// A host copy of a tensor's values (contiguous).
Tensor host(const Tensor& t) {
  return t.to(Device::cpu()).contiguous();
}

void broadcast_tensor(dist::Communicator& c, Tensor& t) {
  Tensor h = host(t).clone();
  c.broadcast(h.raw_data(), static_cast<size_t>(h.numel()) * dtype_size(h.dtype()), 0);
  copy_(t, h.to(t.device()));
}
}  // namespace

DataParallel::DataParallel(dist::Communicator& comm, Model& model) : comm_(comm), model_(model) {}

void DataParallel::check_same_job(const std::string& config_yaml) {
  const std::string sig = model_signature(model_);
  const uint64_t mine[2] = {fnv1a(config_yaml), fnv1a(sig)};
  std::vector<uint64_t> all(2 * static_cast<size_t>(size()));
  comm_.all_gather(mine, sizeof mine, all.data());
  bool same_config = true, same_model = true;
  for (int r = 0; r < size(); ++r) {
    same_config = same_config && all[2 * static_cast<size_t>(r)] == all[0];
    same_model = same_model && all[2 * static_cast<size_t>(r) + 1] == all[1];
  }
  // Every rank learns rank 0's texts when anything differs, so each can say what.
  const std::string root_config =
      same_config ? config_yaml : dist::broadcast_text(comm_, config_yaml);
  const std::string root_sig = same_model ? sig : dist::broadcast_text(comm_, sig);
  PTL_CHECK(same_config, "data-parallel ranks were started with different configs: ",
            config_yaml == root_config ? std::string("another rank differs from rank 0")
                                       : first_difference(root_config, config_yaml),
            "; start every rank with the same --config and overrides");
  PTL_CHECK(same_model, "data-parallel ranks built different models: ",
            sig == root_sig ? std::string("another rank differs from rank 0")
                            : first_difference(root_sig, sig));
}

void DataParallel::broadcast_model() {
  for (auto& [name, p] : model_.named_parameters()) broadcast_tensor(comm_, p);
  broadcast_buffers();
}

void DataParallel::synchronise_batch_norm() {
  dist::Communicator* comm = &comm_;
  const AllGatherDoubles gather = [comm](const std::vector<double>& v) {
    std::vector<double> all(v.size() * static_cast<size_t>(comm->size()));
    comm->all_gather(v.data(), v.size() * sizeof(double), all.data());
    return all;
  };
  for (auto& [name, m] : model_.named_modules())
    if (auto* bn = dynamic_cast<BatchNorm*>(m)) bn->sync = gather;
}

void DataParallel::broadcast_buffers() {
  for (auto& [name, b] : model_.named_buffers()) broadcast_tensor(comm_, b);
}

namespace {
// One bucket: each gradient scaled by `share` into `flat` (the scaling fused with the copy),
// summed over the ranks, then copied back.
template <class T>
void reduce_bucket(dist::Communicator& comm, std::vector<Tensor>& grads, double share,
                   Tensor& flat) {
  int64_t n = 0;
  for (const Tensor& g : grads) n += g.numel();
  // Kept between steps (a fresh 25 MB buffer a step costs its page faults every time), with
  // room for the sum's padding so that it runs in place.
  const int64_t room = dist::padded_length(comm, n);
  if (!flat.defined() || flat.numel() < room) flat = Tensor::empty({room}, dtype_of<T>::value);
  T* f = flat.data<T>();
  const T s = static_cast<T>(share);
  int64_t at = 0;
  for (const Tensor& g : grads) {
    const Tensor h = host(g);
    const T* src = h.data<T>();
    for (int64_t i = 0; i < h.numel(); ++i) f[at + i] = src[i] * s;
    at += h.numel();
  }
  dist::sum_in_rank_order_in_place(comm, f, n);
  at = 0;
  for (Tensor& g : grads) {
    if (g.device().is_cpu() && g.is_contiguous())
      std::memcpy(g.raw_data(), f + at, static_cast<size_t>(g.numel()) * sizeof(T));
    else
      copy_(g, reshape(narrow(flat, 0, at, g.numel()), g.shape()).to(g.device()));
    at += g.numel();
  }
}

// One bucket of CUDA gradients through NCCL: scaled into `flat` on their GPU, summed there.
void reduce_bucket_on_device(dist::Communicator& comm, std::vector<Tensor>& grads, double share,
                             Tensor& flat) {
  int64_t n = 0;
  for (const Tensor& g : grads) n += g.numel();
  const Tensor& first = grads.front();
  if (!flat.defined() || flat.numel() < n || flat.dtype() != first.dtype() ||
      flat.device() != first.device())
    flat = Tensor::empty({n}, first.dtype(), first.device());
  Tensor used = narrow(flat, 0, 0, n);
  int64_t at = 0;
  for (const Tensor& g : grads) {
    Tensor part = narrow(used, 0, at, g.numel());
    copy_(part, mul(reshape(g.contiguous(), {g.numel()}), share));
    at += g.numel();
  }
  dist::sum_in_rank_order(comm, used);
  at = 0;
  for (Tensor& g : grads) {
    copy_(g, reshape(narrow(used, 0, at, g.numel()), g.shape()));
    at += g.numel();
  }
}
}  // namespace

dist::Communicator& DataParallel::gpu_comm(const Device& device) {
  if (!gpu_comm_) gpu_comm_ = dist::nccl_communicator(comm_, device.index);
  return *gpu_comm_;
}

void DataParallel::reduce_gradients(double share, size_t bucket_bytes) {
  // Buckets of one dtype, in parameter order.
  std::vector<Tensor> bucket;
  size_t bytes = 0;
  auto flush = [&] {
    if (bucket.empty()) return;
    if (bucket.front().device().is_cuda() && dist::nccl_compiled())
      reduce_bucket_on_device(gpu_comm(bucket.front().device()), bucket, share, device_flat_);
    else if (bucket.front().dtype() == DType::F64)
      reduce_bucket<double>(comm_, bucket, share, flat64_);
    else
      reduce_bucket<float>(comm_, bucket, share, flat32_);
    bucket.clear();
    bytes = 0;
  };
  for (auto& [name, p] : model_.named_parameters()) {
    if (!p.requires_grad()) continue;
    Tensor g = p.grad();
    PTL_CHECK(g.defined(), "data-parallel step: trainable parameter ", name,
              " received no gradient on rank ", rank(),
              "; every rank must use every trainable parameter in its loss");
    PTL_CHECK(g.dtype() == DType::F32 || g.dtype() == DType::F64, "gradient of ", name, ": dtype ",
              dtype_name(g.dtype()), " cannot be reduced");
    const size_t b = static_cast<size_t>(g.numel()) * dtype_size(g.dtype());
    if (!bucket.empty() && (bucket.front().dtype() != g.dtype() ||
                            bucket.front().device() != g.device() || bytes + b > bucket_bytes))
      flush();
    bucket.push_back(g);
    bytes += b;
  }
  flush();
}

void DataParallel::weighted_sum(std::vector<double>& values, double share) {
  for (double& v : values) v *= share;
  dist::sum_in_rank_order(comm_, values.data(), static_cast<int64_t>(values.size()));
}

Tensor DataParallel::gather_rows(const Tensor& t) {
  const Tensor h = host(t);
  const int64_t rows = h.size(0), row = rows > 0 ? h.numel() / rows : 0;
  std::vector<int64_t> counts(static_cast<size_t>(size()));
  comm_.all_gather(&rows, sizeof rows, counts.data());
  int64_t most = 0, total = 0;
  for (int64_t c : counts) {
    most = std::max(most, c);
    total += c;
  }
  // Every rank sends `most` rows (padded), then the padding is dropped.
  const size_t row_bytes = static_cast<size_t>(row) * dtype_size(h.dtype());
  std::vector<char> send(static_cast<size_t>(most) * row_bytes, 0),
      recv(send.size() * static_cast<size_t>(size()));
  std::memcpy(send.data(), h.raw_data(), static_cast<size_t>(rows) * row_bytes);
  comm_.all_gather(send.data(), send.size(), recv.data());
  Shape shape = h.shape();
  shape[0] = total;
  Tensor out = Tensor::empty(shape, h.dtype());
  char* dst = static_cast<char*>(out.raw_data());
  for (int r = 0; r < size(); ++r) {
    const size_t n = static_cast<size_t>(counts[static_cast<size_t>(r)]) * row_bytes;
    std::memcpy(dst, recv.data() + static_cast<size_t>(r) * send.size(), n);
    dst += n;
  }
  return out.to(t.device());
}

}  // namespace ptl
