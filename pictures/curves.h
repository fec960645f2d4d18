// Training curves of one or more runs (their metrics.jsonl): loss per epoch and the
// evaluation score (mAP or accuracy, named in the panel's title) per evaluated epoch, as a
// two-panel PNG with one coloured line per run.
#pragma once
#include <string>
#include <vector>

namespace ptl {

// One series per run folder, labelled names[i]. A folder without metrics.jsonl is an error
// naming it.
void write_training_curves(const std::string& png, const std::vector<std::string>& run_dirs,
                           const std::vector<std::string>& names);

// The label of a run folder in a legend: its last name ("runs/a/" -> "a").
std::string run_label(const std::string& run_dir);

}  // namespace ptl
