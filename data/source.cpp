#include "data/source.h"

#include <algorithm>

#include "base/error.h"
#include "base/parallel.h"
#include "data/image_decode.h"

namespace ptl::data {

std::vector<int64_t> DataSource::labels() const {
  std::vector<int64_t> out(static_cast<size_t>(size()));
  for (int64_t i = 0; i < size(); ++i) out[i] = label(i);
  return out;
}

namespace {
class ReidSource : public DataSource {
 public:
  explicit ReidSource(std::vector<ReidItem> items) : items_(std::move(items)) {}
  int64_t size() const override { return static_cast<int64_t>(items_.size()); }
  Image load(int64_t i) const override { return load_image(items_.at(i).path); }
  int64_t label(int64_t i) const override { return items_.at(i).pid; }
  int64_t camid(int64_t i) const override { return items_.at(i).camid; }
  std::string path(int64_t i) const override { return items_.at(i).path; }

 private:
  std::vector<ReidItem> items_;
};

class ClassSource : public DataSource {
 public:
  explicit ClassSource(ClassSplit split) : s_(std::move(split)) {
    PTL_CHECK(!s_.paths.empty() ||
                  s_.pixels.size() == static_cast<size_t>(s_.size()) * s_.h * s_.w * s_.c,
              "classification split '", s_.name, "': pixel buffer does not match ", s_.size(),
              " images");
  }
  int64_t size() const override { return s_.size(); }
  Image load(int64_t i) const override {
    if (!s_.paths.empty()) return load_image(s_.paths.at(i));
    PTL_CHECK(i >= 0 && i < size(), "sample ", i, " out of range");
    Image img(s_.h, s_.w, s_.c);  // as stored: the transform converts to its channel count
    const uint8_t* src = s_.pixels.data() + static_cast<size_t>(i) * img.px.size();
    std::copy(src, src + img.px.size(), img.px.begin());
    return img;
  }
  int64_t label(int64_t i) const override { return s_.labels.at(i); }
  int64_t camid(int64_t) const override { return -1; }
  std::string path(int64_t i) const override { return s_.paths.empty() ? "" : s_.paths.at(i); }

 private:
  ClassSplit s_;
};
}  // namespace

std::shared_ptr<DataSource> make_source(const std::vector<ReidItem>& items) {
  return std::make_shared<ReidSource>(items);
}

std::shared_ptr<DataSource> make_source(const ClassSplit& split) {
  return std::make_shared<ClassSource>(split);
}

std::vector<bool> check_images(const DataSource& src, BadInput& bad) {
  std::vector<std::string> errors(static_cast<size_t>(src.size()));
  parallel_for(src.size(), 64, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      try {
        src.load(i);
      } catch (const std::exception& ex) {
        errors[i] = ex.what();
      }
    }
  });
  std::vector<bool> ok(errors.size(), true);
  for (size_t i = 0; i < errors.size(); ++i)
    if (!errors[i].empty()) {
      bad.report(errors[i]);
      ok[i] = false;
    }
  return ok;
}

namespace {
template <class T>
void keep(std::vector<T>& v, const std::vector<bool>& ok) {
  size_t n = 0;
  for (size_t i = 0; i < v.size(); ++i) {
    if (!ok[i]) continue;
    if (n != i) v[n] = std::move(v[i]);  // never onto itself: a self-moved string may be emptied
    ++n;
  }
  v.resize(n);
}
}  // namespace

int64_t drop_unloadable(std::vector<ReidItem>& items, BadInput& bad) {
  const size_t before = items.size();
  keep(items, check_images(*make_source(items), bad));
  return static_cast<int64_t>(before - items.size());
}

int64_t drop_unloadable(ClassSplit& split, BadInput& bad) {
  if (split.paths.empty()) return 0;
  const int64_t before = split.size();
  const std::vector<bool> ok = check_images(*make_source(split), bad);
  keep(split.paths, ok);
  keep(split.labels, ok);
  return before - split.size();
}

}  // namespace ptl::data
