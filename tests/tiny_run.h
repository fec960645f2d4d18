// A tiny synthetic ReID set (12 identities, 32x16 images, generated once per test program) and
// the configuration of a short PTL-ResNet-20 run on it: carried BConv-Cell states, Adam
// (AMSGrad), flips and random erasing on, 3 steps an epoch. Shared by the trainer tests.
#pragma once
#include <string>

#include "data/synth_reid.h"
#include "tests/test_util.h"
#include "train/config.h"

namespace ptl::test {

// A synthetic ReID set of `ids` identities at 32x16 in `out`; returns `out`.
inline std::string write_tiny_reid(const std::string& out, int ids, uint64_t seed) {
  data::SynthOptions so;
  so.out = out;
  so.ids = ids;
  so.seed = seed;
  so.height = 32;
  so.width = 16;
  data::write_synth_reid(so);
  return out;
}

inline const std::string& tiny_reid_root() {
  static TempDir dir;
  static const std::string root = write_tiny_reid(dir.path() + "/synth", 12, 3);
  return root;
}

inline Config tiny_run_config(const std::string& out, int64_t epochs) {
  Config c;
  for (const char* kv :
       {"model.name=ptl_resnet20", "data.format=market1501", "data.height=32", "data.width=16",
        "data.p=3", "data.k=2", "data.workers=2", "data.batch_size=32", "optim.lr=1e-3",
        "loss.kind=ce_triplet", "loss.margin=0.3", "train.max_iters_per_epoch=3",
        "train.eval_every=0", "train.log_every=100", "train.keep_last=10",
        "schedule.milestones=[3]", "eval.flip=false"})
    c.apply_override(kv);
  c.set("data.root", tiny_reid_root());
  c.set("train.out", out);
  c.set("train.epochs", std::to_string(epochs));
  return c;
}

}  // namespace ptl::test
