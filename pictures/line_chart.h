// Line charts as PNG, drawn with Canvas (no plotting library): one or more panels side by
// side, each with several named series of (x, y) points, axes with ticks and a legend.
#pragma once
#include <string>
#include <vector>

namespace ptl {

struct Series {
  std::string name;
  std::vector<double> x, y;
};

struct Panel {
  std::string title, x_label;
  std::vector<Series> series;
  bool integer_x = false;  // whole-number x ticks (epochs)
};

void write_line_chart(const std::string& path, const std::vector<Panel>& panels);

}  // namespace ptl
