// Statistics of a paired comparison over seeds: arm B against arm A, run with the same seeds,
// so each seed gives one difference d_i = B_i - A_i and the seed-to-seed noise that both arms
// share cancels. For n differences:
//   mean, sd            the mean difference and its sample standard deviation (n - 1)
//   t interval          mean +- t(0.975, n-1) * sd / sqrt(n), Student's paired interval
//   bootstrap interval  the 2.5th and 97.5th percentiles of the mean of `resamples` resamples
//                       of the n differences with replacement, drawn from a fixed seed
//   wins                how many d_i are > 0
//   detectable          the smallest true difference the study would find with 80% power at
//                       the 5% level, (t(0.975, n-1) + t(0.8, n-1)) * sd / sqrt(n)
#pragma once
#include <cstdint>
#include <vector>

namespace ptl {

struct PairedStats {
  int64_t n = 0;
  double mean = 0, sd = 0;
  double t_lo = 0, t_hi = 0;
  double boot_lo = 0, boot_hi = 0;
  int64_t wins = 0;
  double detectable = 0;
};

// Needs at least two differences (the spread is undefined for one).
PairedStats paired_stats(const std::vector<double>& diffs, int64_t resamples = 10000,
                         uint64_t seed = 0);

// The p-quantile of Student's t distribution with `df` degrees of freedom (0 < p < 1).
double student_t_quantile(double p, double df);
// The mean and sample standard deviation (n - 1; 0 for fewer than two values).
double mean_of(const std::vector<double>& v);
double sd_of(const std::vector<double>& v);

}  // namespace ptl
