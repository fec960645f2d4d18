// Round axis ticks for the charts: a step of 1, 2, 2.5 or 5 times a power of ten, an axis range
// widened to whole steps, and labels with just the decimals the step needs, so no two labels
// read alike (3.2 / 5.5 / 7.8 become 3 / 4 / 5 / 6 / 7 / 8; 15.6 / 15.8 stay apart).
#pragma once
#include <string>
#include <vector>

namespace ptl {

struct Ticks {
  double lo = 0, hi = 1, step = 1;  // the axis runs from lo to hi, both multiples of step
  std::vector<double> values;       // lo, lo + step, ..., hi
  std::vector<std::string> labels;  // one per value
};

// At most `max_ticks` ticks (at least 3) covering [lo, hi]; lo == hi gets a unit-wide range.
// `integer`: whole-number ticks only (epochs, ranks).
Ticks nice_ticks(double lo, double hi, int max_ticks = 6, bool integer = false);

}  // namespace ptl
