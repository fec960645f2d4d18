// study.png: for each metric of a study report, one panel; in it one row per arm after the
// first, with every seed's paired difference (a dot), the bootstrap 95% interval (a thick bar)
// and the t 95% interval (a thin bar), against a zero line, on round ticks.
#pragma once
#include <string>
#include <vector>

#include "train/study_report.h"

namespace ptl {

void write_study_plot(const std::string& path, const StudySpec& spec,
                      const std::vector<MetricReport>& reports);

}  // namespace ptl
