#include "data/image_files.h"

#include <algorithm>
#include <filesystem>
#include <sstream>

#include "base/error.h"
#include "data/file_util.h"
#include "data/image_decode.h"

namespace fs = std::filesystem;

namespace ptl::data {

namespace {
std::string extension_list() {
  std::string s;
  for (const std::string& e : image_extensions()) s += (s.empty() ? "" : " ") + e;
  return s;
}

std::vector<std::string> folder_images(const std::string& dir) {
  std::vector<std::string> rel;
  try {
    for (const auto& e : fs::recursive_directory_iterator(dir)) {
      std::error_code ec;
      if (e.is_regular_file(ec) && ends_with_any(e.path().filename().string(), image_extensions()))
        rel.push_back(e.path().lexically_relative(dir).generic_string());
    }
  } catch (const fs::filesystem_error& ex) {
    fail(str(dir, ": cannot list the folder (", ex.code().message(), ")"));
  }
  PTL_CHECK(!rel.empty(), dir, ": no images (", extension_list(),
            ") in the folder or its sub-folders; give a folder of images or a list file");
  std::sort(rel.begin(), rel.end());
  for (std::string& p : rel) p = join(dir, p);
  return rel;
}

std::vector<std::string> listed_images(const std::string& list) {
  const std::string base = fs::path(list).parent_path().string();
  std::istringstream in(read_file(list));
  std::vector<std::string> paths;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    paths.push_back(line[0] == '/' ? line : join(base, line));
  }
  PTL_CHECK(!paths.empty(), list,
            ": lists no images; write one image path per line (relative to the list's folder)");
  return paths;
}
}  // namespace

std::vector<std::string> image_files(const std::string& folder_or_list) {
  if (is_dir(folder_or_list)) return folder_images(folder_or_list);
  PTL_CHECK(is_file(folder_or_list), folder_or_list,
            ": no such folder or file; give a folder of images or a list file of image paths");
  return listed_images(folder_or_list);
}

}  // namespace ptl::data
