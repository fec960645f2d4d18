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
  // CUDA blocks over NCCL where ptl has it (at world size 1 too, so one process runs that path),
  // else through the job's communicator in host memory.
  const AllGatherDoubles gather = [this](const Tensor& v) {
    dist::Communicator& c =
        v.device().is_cuda() && dist::nccl_compiled() ? gpu_comm(v.device()) : comm_;
    const Tensor mine = v.to(c.memory()).contiguous();
    Tensor all = Tensor::empty({mine.numel() * c.size()}, DType::F64, c.memory());
    c.all_gather(mine.data<double>(), static_cast<size_t>(mine.numel()) * sizeof(double),
                 all.data<double>());
    return all;
  };
  for (auto& [name, m] : model_.named_modules())
    if (auto* bn = dynamic_cast<BatchNorm*>(m)) bn->sync = gather;
}

void DataParallel::broadcast_buffers() {
  for (auto& [name, b] : model_.named_buffers()) broadcast_tensor(comm_, b);
}

dist::Communicator& DataParallel::gpu_comm(const Device& device) {
  if (!gpu_comm_) gpu_comm_ = dist::nccl_communicator(comm_, device.index);
  return *gpu_comm_;
}

DataParallel::~DataParallel() {
  remove_hooks();
}

void DataParallel::remove_hooks() {
  for (Slot& s : slots_) s.param.set_grad_accumulated_hook(nullptr);
}

void DataParallel::prepare_gradients(double share, size_t bucket_bytes) {
  share_ = share;
  std::vector<Tensor> trainable;
  for (auto& [name, p] : model_.named_parameters())
    if (p.requires_grad()) trainable.push_back(p);
  bool same = bucket_bytes == bucket_bytes_ && trainable.size() == slots_.size();
  for (size_t i = 0; same && i < trainable.size(); ++i)
    same = trainable[i].impl_ptr() == slots_[i].param.impl_ptr();
  if (!same) lay_out_buckets(bucket_bytes);
  for (Slot& s : slots_) s.landed = false;  // a step that failed may have left some set
}

void DataParallel::lay_out_buckets(size_t bucket_bytes) {
  remove_hooks();
  slots_.clear();
  buckets_.clear();
  bucket_bytes_ = bucket_bytes;
  // Buckets of one dtype and device, in parameter order.
  std::vector<Device> memory;  // of each bucket
  std::vector<DType> dtypes;
  size_t bytes = 0;
  for (auto& [name, p] : model_.named_parameters()) {
    if (!p.requires_grad()) continue;
    PTL_CHECK(p.dtype() == DType::F32 || p.dtype() == DType::F64, "data-parallel step: parameter ",
              name, " has dtype ", dtype_name(p.dtype()), ", whose gradient cannot be summed");
    const Device where = p.device().is_cuda() && dist::nccl_compiled() ? p.device() : Device::cpu();
    const size_t b = static_cast<size_t>(p.numel()) * dtype_size(p.dtype());
    if (buckets_.empty() || dtypes.back() != p.dtype() || memory.back() != where ||
        bytes + b > bucket_bytes) {
      buckets_.emplace_back();
      memory.push_back(where);
      dtypes.push_back(p.dtype());
      bytes = 0;
    }
    Bucket& bucket = buckets_.back();
    slots_.push_back({name, p, buckets_.size() - 1, bucket.n, false});
    bucket.n += p.numel();
    bytes += b;
  }
  for (size_t i = 0; i < buckets_.size(); ++i) {
    Bucket& b = buckets_[i];
    const int64_t room = memory[i].is_cpu() ? dist::padded_length(comm_, b.n) : b.n;
    b.flat = Tensor::empty({room}, dtypes[i], memory[i]);
  }
  for (size_t i = 0; i < slots_.size(); ++i)
    slots_[i].param.set_grad_accumulated_hook([this, i](const Tensor& g) { land(slots_[i], g); });
}

namespace {
// dst[i] = src[i] * s: the scaling fused with the copy into the bucket.
template <class T>
void scale_into(T* dst, const T* src, int64_t n, double s) {
  const T st = static_cast<T>(s);
  for (int64_t i = 0; i < n; ++i) dst[i] = src[i] * st;
}
}  // namespace

void DataParallel::land(Slot& slot, const Tensor& grad) {
  Tensor dst = narrow(buckets_[slot.bucket].flat, 0, slot.offset, grad.numel());
  if (dst.device().is_cpu() && grad.device().is_cpu() && grad.is_contiguous()) {
    if (grad.dtype() == DType::F64)
      scale_into(dst.data<double>(), grad.data<double>(), grad.numel(), share_);
    else
      scale_into(dst.data<float>(), grad.data<float>(), grad.numel(), share_);
  } else {
    copy_(dst, reshape(mul(grad, share_), {grad.numel()}).to(dst.device()));
  }
  slot.landed = true;
}

void DataParallel::reduce_gradients() {
  for (const Slot& s : slots_)
    PTL_CHECK(s.landed, "data-parallel step: trainable parameter ", s.name,
              " received no gradient on rank ", rank(),
              "; every rank must use every trainable parameter in its loss");
  for (Bucket& b : buckets_) {
    if (b.flat.device().is_cpu()) {
      if (b.flat.dtype() == DType::F64)
        dist::sum_in_rank_order_in_place(comm_, b.flat.data<double>(), b.n);
      else
        dist::sum_in_rank_order_in_place(comm_, b.flat.data<float>(), b.n);
    } else {
      Tensor used = narrow(b.flat, 0, 0, b.n);
      dist::sum_in_rank_order(gpu_comm(b.flat.device()), used);
    }
  }
  for (Slot& s : slots_) {
    const Tensor sum =
        reshape(narrow(buckets_[s.bucket].flat, 0, s.offset, s.param.numel()), s.param.shape());
    if (sum.device() == s.param.device()) {
      s.param.set_grad(sum);
    } else {  // CUDA gradients summed through the host
      Tensor g = s.param.grad();
      copy_(g, sum.to(g.device()));
    }
    s.landed = false;
  }
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
