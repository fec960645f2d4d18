// Small filesystem helpers for the dataset readers: whole-file reads and sorted folder listings,
// with errors that name the path.
#pragma once
#include <string>
#include <vector>

namespace ptl::data {

// The whole file as bytes. Throws ptl::Error naming `path` when it cannot be opened or read.
std::string read_file(const std::string& path);
// The whole file, decompressed when it is gzip (zlib reads plain files unchanged).
std::string read_maybe_gz(const std::string& path);

bool is_dir(const std::string& path);
bool is_file(const std::string& path);
std::string join(const std::string& a, const std::string& b);

// Whether `name` ends with one of `exts` (lower-case, with the dot), compared case-insensitively.
bool ends_with_any(const std::string& name, const std::vector<std::string>& exts);
// Regular files directly inside `dir` whose name ends with one of `exts` (lower-case, with the
// dot; compared case-insensitively), as full paths in byte order of their names.
std::vector<std::string> list_files(const std::string& dir, const std::vector<std::string>& exts);
// Sub-folders of `dir` (names only), sorted.
std::vector<std::string> list_dirs(const std::string& dir);

// The file name after the last '/'.
std::string base_name(const std::string& path);

}  // namespace ptl::data
