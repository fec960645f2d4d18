// A run's log: lines to stdout and <out>/train.log, a one-line progress display on a terminal,
// and metrics as JSON lines in <out>/metrics.jsonl (the curves are drawn from it).
#pragma once
#include <fstream>
#include <string>

namespace ptl {

class RunLog {
 public:
  explicit RunLog(const std::string& dir);
  // tty: the progress line is being shown, so clear it first.
  void line(const std::string& s, bool tty = false);
  void progress(const std::string& s);  // overwritten in place (terminals only)
  void metrics(const std::string& json_object);

 private:
  std::ofstream log_, metrics_;
};

}  // namespace ptl
