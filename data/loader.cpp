#include "data/loader.h"

#include <cstring>
#include <vector>

#include "base/bf16.h"
#include "base/error.h"
#include "data/seed.h"

namespace ptl::data {

Loader::Loader(std::shared_ptr<const DataSource> source, Transform transform, BatchPlan plan,
               LoaderOptions opts)
    : source_(std::move(source)),
      transform_(transform),
      plan_(std::move(plan)),
      opts_(std::move(opts)) {
  PTL_CHECK(source_ != nullptr, "loader: no data source");
  PTL_CHECK(opts_.images == DType::F32 || opts_.images == DType::BF16,
            "loader: images are float32 or bfloat16, got ", dtype_name(opts_.images));
  PTL_CHECK(opts_.workers >= 0 && opts_.prefetch >= 1,
            "loader: needs workers >= 0 and prefetch >= 1, got ", opts_.workers, " and ",
            opts_.prefetch);
  for (const auto& batch : plan_)
    for (int64_t i : batch)
      PTL_CHECK(i >= 0 && i < source_->size(), "loader: index ", i, " out of range for ",
                source_->size(), " samples");
  for (int w = 0; w < opts_.workers; ++w) threads_.emplace_back([this] { worker(); });
}

Loader::~Loader() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  work_cv_.notify_all();
  for (auto& t : threads_) t.join();
}

Loader::Slot Loader::build(int64_t b) const {
  Slot slot;
  try {
    const auto& idx = plan_[b];
    const int64_t n = static_cast<int64_t>(idx.size()), h = transform_.height, w = transform_.width;
    const int64_t per = transform_.sample_size();
    auto alloc = [&](const Shape& s, DType dt) {
      return opts_.pin_memory ? Tensor::empty_pinned(s, dt) : Tensor::empty(s, dt);
    };
    Tensor images = alloc({n, transform_.channels, h, w}, opts_.images);
    std::vector<float> sample(opts_.images == DType::BF16 ? per : 0);  // one sample before bf16
    Tensor labels = alloc({n}, DType::I64), camids = alloc({n}, DType::I64),
           indices = alloc({n}, DType::I64);
    int64_t kept = 0;
    const int64_t first = opts_.positions.empty() ? 0 : opts_.positions[static_cast<size_t>(b)];
    for (int64_t j = 0; j < n; ++j) {
      Image img;
      try {
        img = source_->load(idx[j]);
      } catch (const Error& e) {
        if (!opts_.bad) throw;
        opts_.bad->report(e.what());  // throws under policy Error
        continue;
      }
      Generator rng(mix_seed(mix_seed(opts_.seed, static_cast<uint64_t>(b)),
                             static_cast<uint64_t>(first + j)));
      if (opts_.images == DType::F32) {
        transform_.apply(img, rng, images.data<float>() + kept * per);
      } else {
        transform_.apply(img, rng, sample.data());
        bf16* out = images.data<bf16>() + kept * per;
        for (int64_t i = 0; i < per; ++i) out[i] = to_bf16(sample[i]);
      }
      labels.data<int64_t>()[kept] = source_->label(idx[j]);
      camids.data<int64_t>()[kept] = source_->camid(idx[j]);
      indices.data<int64_t>()[kept] = idx[j];
      ++kept;
    }
    if (kept < n) {  // skipped samples: copy into tensors of the kept size
      auto shrink = [&](const Tensor& t, int64_t elems) {
        Shape s = t.shape();
        s[0] = kept;
        Tensor out = alloc(s, t.dtype());
        if (kept > 0)
          std::memcpy(out.raw_data(), t.raw_data(),
                      static_cast<size_t>(kept * elems) * dtype_size(t.dtype()));
        return out;
      };
      images = shrink(images, per);
      labels = shrink(labels, 1);
      camids = shrink(camids, 1);
      indices = shrink(indices, 1);
    }
    slot.batch = Batch{b, images, labels, camids, indices};
  } catch (...) {
    slot.error = std::current_exception();
  }
  return slot;
}

void Loader::worker() {
  const int64_t total = num_batches();
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    work_cv_.wait(
        lock, [&] { return stop_ || claimed_ >= total || claimed_ < delivered_ + opts_.prefetch; });
    if (stop_ || claimed_ >= total) return;
    const int64_t b = claimed_++;
    lock.unlock();
    Slot slot = build(b);
    lock.lock();
    ready_.emplace(b, std::move(slot));
    ready_cv_.notify_all();
  }
}

bool Loader::next(Batch& out) {
  std::unique_lock<std::mutex> lock(mu_);
  if (delivered_ >= num_batches()) return false;
  Slot slot;
  if (threads_.empty()) {
    slot = build(delivered_);
  } else {
    ready_cv_.wait(lock, [&] { return ready_.count(delivered_) > 0; });
    auto it = ready_.find(delivered_);
    slot = std::move(it->second);
    ready_.erase(it);
  }
  ++delivered_;
  lock.unlock();
  work_cv_.notify_all();
  if (slot.error) std::rethrow_exception(slot.error);
  out = std::move(slot.batch);
  return true;
}

}  // namespace ptl::data
