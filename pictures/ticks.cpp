#include "pictures/ticks.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "base/error.h"

namespace ptl {

Ticks nice_ticks(double lo, double hi, int max_ticks, bool integer) {
  PTL_CHECK(std::isfinite(lo) && std::isfinite(hi) && lo <= hi && max_ticks >= 3,
            "nice_ticks: bad range [", lo, ", ", hi, "] or tick count ", max_ticks);
  if (hi == lo) {
    lo -= 0.5;
    hi += 0.5;
  }
  // The smallest step of the 1-2-2.5-5 series whose whole-step range has at most max_ticks ticks
  // (a step at least the range fits: it spans at most 3 ticks).
  Ticks t;
  int exponent = static_cast<int>(std::floor(std::log10((hi - lo) / (max_ticks - 1))));
  if (integer) exponent = std::max(exponent, 0);
  double mult = 1;
  auto fits = [&](double m) {
    if (integer && exponent == 0 && m == 2.5) return false;
    mult = m;
    t.step = m * std::pow(10.0, exponent);
    t.lo = std::floor(lo / t.step + 1e-9) * t.step;
    t.hi = std::ceil(hi / t.step - 1e-9) * t.step;
    return std::lround((t.hi - t.lo) / t.step) + 1 <= max_ticks;
  };
  while (!(fits(1) || fits(2) || fits(2.5) || fits(5))) ++exponent;
  // Decimals: as many as the step has (2.5 x 10^k one more than 10^k).
  const int decimals = std::max(0, -exponent + (mult == 2.5 ? 1 : 0));
  const long n = std::lround((t.hi - t.lo) / t.step);
  for (long i = 0; i <= n; ++i) {
    double v = t.lo + static_cast<double>(i) * t.step;
    if (std::abs(v) < t.step * 1e-9) v = 0;  // not "-0"
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
    t.values.push_back(v);
    t.labels.push_back(buf);
  }
  return t;
}

}  // namespace ptl
