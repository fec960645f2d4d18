// The progress line of a long pass over images (`ptl embed`): images done, images/s and the time
// left, in the trainer's style ("1200/10000 images  35.2 images/s  eta 0:04:10"). On a terminal
// it is redrawn in place after every batch; elsewhere (a log file) it is printed as a line at
// most every 30 s, so a log shows progress without a line per batch.
#pragma once
#include <chrono>
#include <cstdint>
#include <string>

namespace ptl::cli {

class ImageProgress {
 public:
  explicit ImageProgress(std::string what);
  // After each batch: `done` of `total` images read (or skipped).
  void operator()(int64_t done, int64_t total);
  // Ends a line drawn in place; returns the seconds since construction.
  double finish();

 private:
  std::string what_;
  bool tty_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point start_, last_print_;
};

}  // namespace ptl::cli
