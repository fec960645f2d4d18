#include "evaluation/paired_stats.h"

#include <algorithm>
#include <cmath>

#include "base/error.h"
#include "engine/rng.h"

namespace ptl {

namespace {
// The regularised incomplete beta function I_x(a, b), by its continued fraction (Lentz's
// method), on the side of x where the fraction converges fast.
double incomplete_beta(double x, double a, double b) {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  if (x > (a + 1) / (a + b + 2)) return 1 - incomplete_beta(1 - x, b, a);
  const double front = std::exp(std::lgamma(a + b) - std::lgamma(a) - std::lgamma(b) +
                                a * std::log(x) + b * std::log1p(-x)) /
                       a;
  const double tiny = 1e-300;
  double c = 1, d = 1 - (a + b) * x / (a + 1);
  d = 1 / (std::fabs(d) < tiny ? tiny : d);
  double f = d;
  for (int m = 1; m <= 500; ++m) {
    for (int odd = 0; odd < 2; ++odd) {
      const double num = odd ? -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))
                             : m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m));
      d = 1 + num * d;
      d = 1 / (std::fabs(d) < tiny ? tiny : d);
      c = 1 + num / c;
      if (std::fabs(c) < tiny) c = tiny;
      f *= c * d;
    }
    if (std::fabs(c * d - 1) < 1e-15) break;
  }
  return front * f;
}

// P(T <= t) for Student's t with df degrees of freedom.
double student_t_cdf(double t, double df) {
  const double tail = 0.5 * incomplete_beta(df / (df + t * t), df / 2, 0.5);
  return t >= 0 ? 1 - tail : tail;
}
}  // namespace

double student_t_quantile(double p, double df) {
  PTL_CHECK(p > 0 && p < 1 && df > 0, "student_t_quantile: p must be in (0, 1) and df > 0, got p ",
            p, ", df ", df);
  // Bisection on the monotone CDF: 200 halvings of [-1e6, 1e6] reach double precision.
  double lo = -1e6, hi = 1e6;
  for (int i = 0; i < 200 && hi - lo > 1e-13 * std::max(1.0, std::fabs(lo)); ++i) {
    const double mid = 0.5 * (lo + hi);
    (student_t_cdf(mid, df) < p ? lo : hi) = mid;
  }
  return 0.5 * (lo + hi);
}

double mean_of(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return v.empty() ? 0 : s / static_cast<double>(v.size());
}

double sd_of(const std::vector<double>& v) {
  if (v.size() < 2) return 0;
  const double m = mean_of(v);
  double ss = 0;
  for (double x : v) ss += (x - m) * (x - m);
  return std::sqrt(ss / static_cast<double>(v.size() - 1));
}

PairedStats paired_stats(const std::vector<double>& diffs, int64_t resamples, uint64_t seed) {
  PTL_CHECK(diffs.size() >= 2, "paired statistics need at least two seeds, got ", diffs.size());
  PTL_CHECK(resamples >= 100, "paired statistics: at least 100 bootstrap resamples, got ",
            resamples);
  PairedStats s;
  s.n = static_cast<int64_t>(diffs.size());
  s.mean = mean_of(diffs);
  s.sd = sd_of(diffs);
  const double df = static_cast<double>(s.n - 1), se = s.sd / std::sqrt(static_cast<double>(s.n));
  const double t975 = student_t_quantile(0.975, df);
  s.t_lo = s.mean - t975 * se;
  s.t_hi = s.mean + t975 * se;
  s.detectable = (t975 + student_t_quantile(0.8, df)) * se;
  for (double d : diffs) s.wins += d > 0;
  // Percentile bootstrap of the mean: the k-th smallest of the sorted resample means, k the
  // rounded-down 2.5% and 97.5% positions.
  Generator rng(seed);
  std::vector<double> means(static_cast<size_t>(resamples));
  for (double& m : means) {
    double sum = 0;
    for (int64_t i = 0; i < s.n; ++i) sum += diffs[static_cast<size_t>(rng.randint(s.n))];
    m = sum / static_cast<double>(s.n);
  }
  std::sort(means.begin(), means.end());
  s.boot_lo = means[static_cast<size_t>(0.025 * static_cast<double>(resamples))];
  s.boot_hi = means[static_cast<size_t>(0.975 * static_cast<double>(resamples)) - 1];
  return s;
}

}  // namespace ptl
