// Image file names: Market-1501 / DukeMTMC-reID (`0002_c1s1_000451_03.jpg`) and MSMT17
// (`0001_000_05_0303noon_0100_0.jpg`, the camera in the third field, read from a list line).
#include "data/reid_datasets.h"
#include "tests/fuzz/fuzz_target.h"

PTL_FUZZ_TARGET(reid_names) {
  int64_t pid = 0, cam = 0;
  if (ptl::data::parse_market_name(input, pid, cam))
    ptl::fuzz::expect(cam >= 0 && cam <= 9, "Market camera digit");
  // A list line splits at white space, so a name never holds any.
  if (input.find_first_of(" \t\n\v\f\r") != std::string::npos) return;
  ptl::data::BadInput skip(ptl::data::OnBad::Skip);
  for (const auto& it : ptl::data::parse_reid_list("0000/" + input + " 1", "fuzz.txt", "/root",
                                                   ptl::data::ListKind::MSMT17, skip))
    ptl::fuzz::expect(it.pid == 1 && it.camid >= 0, "MSMT17 name fields");
}
