#include "train/run_log.h"

#include <cstdio>
#include <filesystem>
#include <sstream>

#include "base/error.h"
#include "engine/atomic_file.h"

namespace ptl {

RunLog::RunLog(const std::string& dir)
    : log_(dir + "/train.log", std::ios::app), metrics_(dir + "/metrics.jsonl", std::ios::app) {
  PTL_CHECK(log_.good() && metrics_.good(), dir,
            ": cannot write train.log / metrics.jsonl; check that the folder is writable");
}

void RunLog::line(const std::string& s, bool tty) {
  if (quiet_) return;
  std::printf(tty ? "\r\033[K%s\n" : "%s\n", s.c_str());
  std::fflush(stdout);
  log_ << s << "\n";
  log_.flush();
}

void RunLog::record(const std::string& s) {
  if (quiet_) return;
  log_ << s << "\n";
  log_.flush();
}

void RunLog::progress(const std::string& s) {
  if (quiet_) return;
  std::printf("\r\033[K%s", s.c_str());
  std::fflush(stdout);
}

void RunLog::metrics(const std::vector<std::pair<std::string, std::string>>& fields) {
  if (quiet_) return;
  std::string line = "{";
  for (size_t i = 0; i < fields.size(); ++i)
    line += (i ? ", " : "") + json_quote(fields[i].first) + ": " + fields[i].second;
  metrics_ << line << "}\n";
  metrics_.flush();
}

namespace {
// The complete lines of `path` (a last line without its newline is left out).
std::vector<std::string> complete_lines(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  const std::string text = ss.str();
  std::vector<std::string> lines;
  for (size_t b = 0, e; (e = text.find('\n', b)) != std::string::npos; b = e + 1)
    lines.push_back(text.substr(b, e - b));
  return lines;
}
}  // namespace

std::vector<Json> read_json_lines(const std::string& path) {
  PTL_CHECK(std::ifstream(path).good(), path, ": cannot open");
  std::vector<Json> out;
  int64_t n = 0;
  for (const std::string& line : complete_lines(path)) {
    ++n;
    if (!line.empty()) out.push_back(Json::parse(line, str(path, ":", n)));
  }
  return out;
}

void truncate_metrics(const std::string& dir, int64_t step) {
  const std::string path = dir + "/metrics.jsonl";
  if (!std::filesystem::exists(path)) return;
  std::string kept;
  for (const std::string& line : complete_lines(path)) {
    if (line.empty()) continue;
    const Json j = Json::parse(line, path);
    const Json* s = j.find("step");
    if (!s || s->number > static_cast<double>(step)) continue;
    if (s->number == static_cast<double>(step) && (j.find("eval") || j.find("held_out_test")))
      continue;
    kept += line + "\n";
  }
  write_file_atomic(path, kept);
}

}  // namespace ptl
