#include "train/scheduler.h"

#include <cmath>

#include "base/error.h"

namespace ptl {

double lr_factor(const ScheduleSpec& s, int64_t epoch, int64_t iteration) {
  const int64_t t = s.per_iteration ? iteration : epoch;
  double f = 1.0;
  if (s.kind == ScheduleKind::Multistep) {
    for (int64_t m : s.milestones)
      if (t >= m) f *= s.gamma;
  } else if (s.kind == ScheduleKind::Cosine) {
    PTL_CHECK(s.t_max > 0, "cosine schedule: t_max must be positive, got ", s.t_max);
    const double c = 0.5 * (1 + std::cos(M_PI * static_cast<double>(std::min(t, s.t_max)) /
                                         static_cast<double>(s.t_max)));
    f = c;  // eta_min is applied below, relative to the group's base lr
  }
  if (iteration < s.warmup_iters) {
    const double alpha = static_cast<double>(iteration) / static_cast<double>(s.warmup_iters);
    f *= s.warmup_factor * (1 - alpha) + alpha;
  }
  return f;
}

double apply_schedule(const ScheduleSpec& s, Optimizer& opt, int64_t epoch, int64_t iteration) {
  const double f = lr_factor(s, epoch, iteration);
  for (ParamGroup& g : opt.groups()) {
    if (s.kind == ScheduleKind::Cosine)
      g.lr = s.eta_min + (g.base_lr - s.eta_min) * f;
    else
      g.lr = g.base_lr * f;
  }
  return opt.groups().empty() ? 0.0 : opt.groups()[0].lr;
}

}  // namespace ptl
