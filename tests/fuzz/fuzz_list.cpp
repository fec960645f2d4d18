// ReID list files: `path pid [camid]` lines and MSMT17's list_*.txt, under both --on-bad-image
// policies. Kept items have a real id (junk -1 is dropped) and a camera of -1 (none) or more.
#include "data/reid_datasets.h"
#include "tests/fuzz/fuzz_target.h"

PTL_FUZZ_TARGET(list) {
  for (auto kind : {ptl::data::ListKind::Plain, ptl::data::ListKind::MSMT17})
    for (auto policy : {ptl::data::OnBad::Skip, ptl::data::OnBad::Error}) {
      ptl::data::BadInput bad(policy);
      for (const auto& it : ptl::data::parse_reid_list(input, "fuzz.txt", "/root", kind, bad))
        ptl::fuzz::expect(it.pid >= 0 && it.camid >= -1 && !it.path.empty(), "list item ranges");
    }
}
