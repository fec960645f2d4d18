#include "cli/progress.h"

#include <unistd.h>

#include <cstdio>

#include "base/text.h"

namespace ptl::cli {

namespace {
double seconds_between(std::chrono::steady_clock::time_point a,
                       std::chrono::steady_clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}
}  // namespace

ImageProgress::ImageProgress(std::string what)
    : what_(std::move(what)),
      tty_(::isatty(STDOUT_FILENO)),
      start_(std::chrono::steady_clock::now()),
      last_print_(start_) {}

void ImageProgress::operator()(int64_t done, int64_t total) {
  const auto now = std::chrono::steady_clock::now();
  if (!tty_ && (seconds_between(last_print_, now) < 30 || done == total)) return;
  last_print_ = now;
  const double s = seconds_between(start_, now), rate = static_cast<double>(done) / s;
  char line[200];
  std::snprintf(line, sizeof line, "%s %lld/%lld images  %.1f images/s  eta %s", what_.c_str(),
                static_cast<long long>(done), static_cast<long long>(total), rate,
                fmt_duration(static_cast<double>(total - done) / rate).c_str());
  std::printf(tty_ ? "\r\033[K%s" : "%s\n", line);
  std::fflush(stdout);
  drawn_ = tty_;
}

double ImageProgress::finish() {
  if (drawn_) std::printf("\r\033[K");
  drawn_ = false;
  return seconds_between(start_, std::chrono::steady_clock::now());
}

}  // namespace ptl::cli
