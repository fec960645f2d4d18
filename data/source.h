// A DataSource hands the loader sample i as a decoded image with its label, camera and file.
// Implementations: image files (ReID splits, folder-per-class) and in-memory images (CIFAR, IDX).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "data/class_datasets.h"
#include "data/image.h"
#include "data/reid_datasets.h"

namespace ptl::data {

class DataSource {
 public:
  virtual ~DataSource() = default;
  virtual int64_t size() const = 0;
  // Sample i: decoded files are RGB, in-memory images keep their channels (1 or 3).
  // Thread-safe. Throws ptl::Error naming the file when it is bad.
  virtual Image load(int64_t i) const = 0;
  virtual int64_t label(int64_t i) const = 0;
  virtual int64_t camid(int64_t i) const = 0;     // -1 when unknown
  virtual std::string path(int64_t i) const = 0;  // the image file; "" for in-memory images

  std::vector<int64_t> labels() const;  // label(i) for every i
};

// A ReID split (query and gallery keep raw ids, train its relabelled ids).
std::shared_ptr<DataSource> make_source(const std::vector<ReidItem>& items);
// A classification split.
std::shared_ptr<DataSource> make_source(const ClassSplit& split);

// Decodes every sample (in parallel) and returns which ones load. Failures are reported to
// `bad` in index order, so under policy Error the first bad file's error is thrown.
std::vector<bool> check_images(const DataSource& src, BadInput& bad);
// check_images, then removes the samples that do not load; returns how many it removed.
int64_t drop_unloadable(std::vector<ReidItem>& items, BadInput& bad);
int64_t drop_unloadable(ClassSplit& split, BadInput& bad);  // in-memory splits: nothing to decode

}  // namespace ptl::data
