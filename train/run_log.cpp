#include "train/run_log.h"

#include <cstdio>

#include "engine/error.h"

namespace ptl {

RunLog::RunLog(const std::string& dir)
    : log_(dir + "/train.log", std::ios::app), metrics_(dir + "/metrics.jsonl", std::ios::app) {
  PTL_CHECK(log_.good() && metrics_.good(), dir, ": cannot write train.log / metrics.jsonl; check that the folder is writable");
}

void RunLog::line(const std::string& s, bool tty) {
  std::printf(tty ? "\r\033[K%s\n" : "%s\n", s.c_str());
  std::fflush(stdout);
  log_ << s << "\n";
  log_.flush();
}

void RunLog::progress(const std::string& s) {
  std::printf("\r\033[K%s", s.c_str());
  std::fflush(stdout);
}

void RunLog::metrics(const std::string& json_object) {
  metrics_ << json_object << "\n";
  metrics_.flush();
}

}  // namespace ptl
