// A run's log: lines to stdout and <out>/train.log, a one-line progress display on a terminal,
// and metrics as JSON lines in <out>/metrics.jsonl (the curves are drawn from it). Every metrics
// line carries the global step it was written at and nothing timed, so a resumed run writes
// the same file as an uninterrupted one.
#pragma once
#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

#include "engine/json.h"

namespace ptl {

class RunLog {
 public:
  explicit RunLog(const std::string& dir);
  // A log that writes and prints nothing: the data-parallel ranks other than 0.
  static RunLog silent() { return RunLog(); }
  // tty: the progress line is being shown, so clear it first.
  void line(const std::string& s, bool tty = false);
  void record(const std::string& s);    // train.log only (a line the console showed earlier)
  void progress(const std::string& s);  // overwritten in place (terminals only)
  // One metrics line: a JSON object of the fields in order; each value is JSON text already
  // (a number rendered with str(), or a nested object).
  void metrics(const std::vector<std::pair<std::string, std::string>>& fields);

 private:
  RunLog() : quiet_(true) {}
  bool quiet_ = false;
  std::ofstream log_, metrics_;
};

// The complete lines of a JSON-lines file, parsed: a last line without its newline (a write
// cut short by a kill) is left out. Errors name the file and line.
std::vector<Json> read_json_lines(const std::string& path);

// Keeps the metrics lines of <dir>/metrics.jsonl that a run resumed from a checkpoint at `step`
// does not write again: those before `step`, and those at `step` other than evaluations (an
// epoch's checkpoint precedes its evaluation, which the resumed run repeats). Replaces the file
// atomically; no file: nothing to do.
void truncate_metrics(const std::string& dir, int64_t step);

}  // namespace ptl
