// CIFAR-10 and CIFAR-100 binary batches; bad labels are skipped, as --on-bad-image skip does.
#include "data/class_datasets.h"
#include "tests/fuzz/fuzz_target.h"

PTL_FUZZ_TARGET(cifar) {
  for (bool cifar100 : {false, true}) {
    ptl::data::ClassSplit s;
    ptl::data::BadInput skip(ptl::data::OnBad::Skip);
    try {
      ptl::data::parse_cifar(input, "fuzz.bin", cifar100, s, skip);
    } catch (const ptl::Error&) {
      continue;
    }
    ptl::fuzz::expect(s.pixels.size() == static_cast<size_t>(s.size()) * 32 * 32 * 3,
                      "CIFAR pixel count");
    for (int64_t l : s.labels)
      ptl::fuzz::expect(l >= 0 && l < (cifar100 ? 100 : 10), "CIFAR label range");
  }
}
