// MNIST-style IDX files, plain or gzip, read from disk as the dataset loader reads them
// (read_maybe_gz), then parsed as images and as labels.
#include "data/class_datasets.h"
#include "data/file_util.h"
#include "tests/fuzz/fuzz_target.h"

PTL_FUZZ_TARGET(idx) {
  const std::string bytes =
      ptl::data::read_maybe_gz(ptl::fuzz::scratch_file("data-idx-ubyte.gz", input));
  try {
    ptl::data::ClassSplit s;
    ptl::data::parse_idx_images(bytes, "fuzz images", s);
    // The loader divides the pixel count by h * w to count the images.
    ptl::fuzz::expect(
        s.h > 0 && s.w > 0 && s.c == 1 && s.pixels.size() % (static_cast<size_t>(s.h) * s.w) == 0,
        "IDX image size");
  } catch (const ptl::Error&) {
  }
  const auto labels = ptl::data::parse_idx_labels(bytes, "fuzz labels");
  ptl::fuzz::expect(labels.size() + 8 == bytes.size(), "one label per byte");
}
