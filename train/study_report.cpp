#include "train/study_report.h"

#include <cstdio>

#include "base/error.h"
#include "base/text.h"
#include "engine/json.h"

namespace ptl {

std::vector<MetricReport> study_report(const StudySpec& spec, const StudyResult& result) {
  PTL_CHECK(!result.interrupted && !result.runs.empty(), "study report: the study is not finished");
  const bool reid = result.runs[0][0].reid;
  std::vector<MetricReport> reports;
  for (const char* metric :
       reid ? std::vector<const char*>{"mAP", "rank1"} : std::vector<const char*>{"accuracy"}) {
    MetricReport m;
    m.metric = metric;
    for (const std::vector<StudyRun>& arm : result.runs) {
      std::vector<double> v;
      for (const StudyRun& r : arm)
        v.push_back(m.metric == "mAP" ? r.mAP : m.metric == "rank1" ? r.rank1 : r.accuracy);
      m.mean.push_back(mean_of(v));
      m.sd.push_back(sd_of(v));
      m.values.push_back(v);
    }
    for (size_t a = 1; a < m.values.size(); ++a) {
      std::vector<double> d;
      for (size_t s = 0; s < m.values[a].size(); ++s) d.push_back(m.values[a][s] - m.values[0][s]);
      m.paired.push_back(paired_stats(d, kResamples, kBootstrapSeed));
    }
    reports.push_back(m);
  }
  return reports;
}

namespace {
std::string numbers(const std::vector<double>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + exact_number(v[i]);
  return s + "]";
}
}  // namespace

std::string study_json(const StudySpec& spec, const std::vector<MetricReport>& reports) {
  std::string s = "{\n  \"seeds\": [";
  for (size_t i = 0; i < spec.seeds.size(); ++i)
    s += (i ? ", " : "") + std::to_string(spec.seeds[i]);
  s += "],\n  \"arms\": [";
  for (size_t a = 0; a < spec.arms.size(); ++a) {
    s += std::string(a ? ", " : "") + "{\"name\": " + json_quote(spec.arms[a].name) +
         ", \"overrides\": [";
    for (size_t o = 0; o < spec.arms[a].overrides.size(); ++o)
      s += std::string(o ? ", " : "") + json_quote(spec.arms[a].overrides[o]);
    s += "]}";
  }
  // The score of a run is its last evaluation (after its final epoch): the best one would be
  // chosen on the test split itself.
  s +=
      str("],\n  \"score\": \"the last evaluation of each run (after its final epoch)\",\n  "
          "\"bootstrap\": {\"resamples\": ",
          kResamples, ", \"seed\": ", kBootstrapSeed, "},\n  \"metrics\": {");
  for (size_t r = 0; r < reports.size(); ++r) {
    const MetricReport& m = reports[r];
    s += std::string(r ? "," : "") + "\n    " + json_quote(m.metric) + ": {\"arms\": {";
    for (size_t a = 0; a < m.values.size(); ++a)
      s += std::string(a ? ", " : "") + json_quote(spec.arms[a].name) +
           ": {\"values\": " + numbers(m.values[a]) + ", \"mean\": " + exact_number(m.mean[a]) +
           ", \"sd\": " + exact_number(m.sd[a]) + "}";
    s += "},\n      \"paired_vs_" + spec.arms[0].name + "\": {";
    for (size_t a = 0; a < m.paired.size(); ++a) {
      const PairedStats& p = m.paired[a];
      s += std::string(a ? ", " : "") + json_quote(spec.arms[a + 1].name) +
           ": {\"mean\": " + exact_number(p.mean) + ", \"sd\": " + exact_number(p.sd) +
           ", \"t95\": " + numbers({p.t_lo, p.t_hi}) +
           ", \"bootstrap95\": " + numbers({p.boot_lo, p.boot_hi}) +
           ", \"wins\": " + std::to_string(p.wins) + ", \"n\": " + std::to_string(p.n) +
           ", \"detectable\": " + exact_number(p.detectable) + "}";
    }
    s += "}}";
  }
  return s + "\n  }\n}\n";
}

std::string study_table(const StudySpec& spec, const std::vector<MetricReport>& reports) {
  std::string s;
  char line[256];
  for (const MetricReport& m : reports) {
    std::snprintf(line, sizeof line,
                  "\n%s over %s (percent)\n%-24s %8s %7s   %-33s %-20s %6s %10s\n",
                  m.metric.c_str(), count_of(int64_t(spec.seeds.size()), "seed").c_str(), "arm",
                  "mean", "sd", ("minus " + spec.arms[0].name + ": mean [bootstrap 95%]").c_str(),
                  "t 95%", "wins", "detectable");
    s += line;
    for (size_t a = 0; a < m.values.size(); ++a) {
      std::snprintf(line, sizeof line, "%-24s %8.2f %7.2f", spec.arms[a].name.c_str(), m.mean[a],
                    m.sd[a]);
      s += line;
      if (a > 0) {
        // Each column formatted alone, then padded to its header's width.
        const PairedStats& p = m.paired[a - 1];
        char boot[64], t[64], wins[32];
        std::snprintf(boot, sizeof boot, "%+.2f [%+.2f, %+.2f]", p.mean, p.boot_lo, p.boot_hi);
        std::snprintf(t, sizeof t, "[%+.2f, %+.2f]", p.t_lo, p.t_hi);
        std::snprintf(wins, sizeof wins, "%lld/%lld", static_cast<long long>(p.wins),
                      static_cast<long long>(p.n));
        std::snprintf(line, sizeof line, "   %-33s %-20s %6s %10.2f", boot, t, wins, p.detectable);
        s += line;
      }
      s += "\n";
    }
  }
  return s;
}

}  // namespace ptl
