#include "pictures/curves.h"

#include "base/error.h"
#include "engine/json.h"
#include "pictures/line_chart.h"
#include "train/run_log.h"

namespace ptl {

void write_training_curves(const std::string& png, const std::vector<std::string>& run_dirs,
                           const std::vector<std::string>& names) {
  PTL_CHECK(run_dirs.size() == names.size(), "write_training_curves: ", run_dirs.size(),
            " runs but ", names.size(), " names");
  Panel loss{"TRAINING LOSS", "EPOCH", {}, true}, score{"TEST SCORE (%)", "EPOCH", {}, true};
  for (size_t r = 0; r < run_dirs.size(); ++r) {
    const std::string path = run_dirs[r] + "/metrics.jsonl";
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
          s.x.push_back(epoch->number);
          s.y.push_back(v->number);
        }
      }
    }
    loss.series.push_back(l);
    score.series.push_back(s);
  }
  write_line_chart(png, {loss, score});
}

}  // namespace ptl
