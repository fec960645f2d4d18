// Training curves of one or more runs (their metrics.jsonl): loss per epoch and the
// evaluation score (mAP or accuracy) per evaluated epoch, as a two-panel PNG.
#pragma once
#include <string>
#include <vector>

namespace ptl {

void write_training_curves(const std::string& png, const std::vector<std::string>& run_dirs,
                           const std::vector<std::string>& names);

}  // namespace ptl
