#include "pictures/curves.h"

#include <filesystem>

#include "base/error.h"
#include "engine/json.h"
#include "pictures/line_chart.h"
#include "train/run_log.h"

namespace ptl {

namespace {
// The score panel's title from the metrics the runs evaluated: ReID runs record mAP,
// classification runs accuracy.
std::string score_title(bool map, bool accuracy) {
  if (map && accuracy) return "mAP or accuracy (%)";
  if (map) return "mAP (%)";
  if (accuracy) return "accuracy (%)";
  return "evaluation (%): none yet";
}
}  // namespace

std::string run_label(const std::string& run_dir) {
  const std::filesystem::path p = std::filesystem::path(run_dir).lexically_normal();
  const std::string name =
      p.has_filename() ? p.filename().string() : p.parent_path().filename().string();
  return name.empty() || name == "." ? run_dir : name;
}

void write_training_curves(const std::string& png, const std::vector<std::string>& run_dirs,
                           const std::vector<std::string>& names) {
  PTL_CHECK(run_dirs.size() == names.size(), "write_training_curves: ", run_dirs.size(),
            " runs but ", names.size(), " names");
  Panel loss{"training loss (epoch mean)", "epoch", {}, true}, score{"", "epoch", {}, true};
  bool map = false, accuracy = false;
  for (size_t r = 0; r < run_dirs.size(); ++r) {
    const std::string path = run_dirs[r] + "/metrics.jsonl";
    PTL_CHECK(std::filesystem::is_regular_file(path), run_dirs[r],
              " has no metrics.jsonl: not a run folder (the train.out of `ptl train`)");
    Series l{names[r], {}, {}}, s{names[r], {}, {}};
    for (const Json& j : read_json_lines(path)) {
      const Json* epoch = j.find("epoch");
      if (!epoch) continue;
      if (const Json* el = j.find("epoch_loss")) {
        l.x.push_back(epoch->number);
        l.y.push_back(el->number);
      }
      if (const Json* ev = j.find("eval")) {
        const Json* v = ev->find("mAP") ? ev->find("mAP") : ev->find("accuracy");
        if (v) {
          (ev->find("mAP") ? map : accuracy) = true;
          s.x.push_back(epoch->number);
          s.y.push_back(v->number);
        }
      }
    }
    loss.series.push_back(l);
    score.series.push_back(s);
  }
  score.title = score_title(map, accuracy);
  write_line_chart(png, {loss, score});
}

}  // namespace ptl
