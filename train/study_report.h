// The report of a finished study: per metric (mAP and Rank-1 for ReID, accuracy for
// classification) each arm's values over the seeds with their mean and spread, and every arm
// against the first as paired statistics (evaluation/paired_stats.h). Written as study.json and
// printed as a table; pictures/study_plot.h draws it.
#pragma once
#include <string>
#include <vector>

#include "evaluation/paired_stats.h"
#include "train/study.h"

namespace ptl {

struct MetricReport {
  std::string metric;                       // "mAP", "rank1" or "accuracy"
  std::vector<std::vector<double>> values;  // [arm][seed], percent
  std::vector<double> mean, sd;             // [arm]
  std::vector<PairedStats> paired;          // [arm - 1]: arm against the first
};

// The bootstrap draws kResamples resamples from kBootstrapSeed, so a report is reproducible.
constexpr int64_t kResamples = 10000;
constexpr uint64_t kBootstrapSeed = 20261201;

std::vector<MetricReport> study_report(const StudySpec& spec, const StudyResult& result);
std::string study_json(const StudySpec& spec, const std::vector<MetricReport>& reports);
std::string study_table(const StudySpec& spec, const std::vector<MetricReport>& reports);

}  // namespace ptl
