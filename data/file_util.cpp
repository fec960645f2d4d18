#include "data/file_util.h"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "base/error.h"

namespace fs = std::filesystem;

namespace ptl::data {

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  PTL_CHECK(f.good(), path, ": cannot open (", std::strerror(errno), ")");
  std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  PTL_CHECK(!f.bad(), path, ": read error");
  return bytes;
}

std::string read_maybe_gz(const std::string& path) {
  gzFile f = gzopen(path.c_str(), "rb");
  PTL_CHECK(f != nullptr, path, ": cannot open (", std::strerror(errno), ")");
  std::string out;
  char buf[1 << 16];
  int n = 0;
  while ((n = gzread(f, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  int err = 0;
  std::string msg = n < 0 ? gzerror(f, &err) : "";
  gzclose(f);
  PTL_CHECK(n == 0, path, ": corrupt gzip data (", msg, ")");
  return out;
}

bool is_dir(const std::string& path) {
  std::error_code ec;
  return fs::is_directory(path, ec);
}

bool is_file(const std::string& path) {
  std::error_code ec;
  return fs::is_regular_file(path, ec);
}

std::string join(const std::string& a, const std::string& b) {
  if (a.empty()) return b;
  return a.back() == '/' ? a + b : a + "/" + b;
}

std::string base_name(const std::string& path) {
  auto p = path.find_last_of('/');
  return p == std::string::npos ? path : path.substr(p + 1);
}

namespace {
std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}
}  // namespace

bool ends_with_any(const std::string& name, const std::vector<std::string>& exts) {
  std::string n = lower(name);
  for (const auto& e : exts)
    if (n.size() >= e.size() && n.compare(n.size() - e.size(), e.size(), e) == 0) return true;
  return false;
}

std::vector<std::string> list_files(const std::string& dir, const std::vector<std::string>& exts) {
  PTL_CHECK(is_dir(dir), dir, ": missing folder");
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) {
    std::error_code ec;
    if (!e.is_regular_file(ec)) continue;
    std::string name = e.path().filename().string();
    if (ends_with_any(name, exts)) names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  for (auto& n : names) n = join(dir, n);
  return names;
}

std::vector<std::string> list_dirs(const std::string& dir) {
  PTL_CHECK(is_dir(dir), dir, ": missing folder");
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) {
    std::error_code ec;
    if (e.is_directory(ec)) names.push_back(e.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace ptl::data
