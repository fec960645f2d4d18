// Learning-rate schedules: a pure function of the epoch and the iteration, so checkpoints only
// need (epoch, iteration) to resume the schedule exactly.
//   multistep: base * gamma^(number of milestones <= t)
//   cosine:    eta_min + (base - eta_min) * (1 + cos(pi * t / t_max)) / 2
//   constant:  base
// with an optional linear warm-up over the first warmup_iters iterations from
// warmup_factor * lr to lr. `t` counts epochs (per_iteration = false) or iterations.
#pragma once
#include <vector>

#include "train/optim.h"

namespace ptl {

enum class ScheduleKind { Multistep, Cosine, Constant };

struct ScheduleSpec {
  ScheduleKind kind = ScheduleKind::Multistep;
  std::vector<int64_t> milestones;
  double gamma = 0.1;
  int64_t t_max = 1;
  double eta_min = 0;
  bool per_iteration = false;
  int64_t warmup_iters = 0;
  double warmup_factor = 0.1;
};

// The multiplier of base_lr at (epoch, global iteration).
double lr_factor(const ScheduleSpec& s, int64_t epoch, int64_t iteration);
// Sets every group's lr from its base_lr; returns the first group's lr (for logs).
double apply_schedule(const ScheduleSpec& s, Optimizer& opt, int64_t epoch, int64_t iteration);

}  // namespace ptl
