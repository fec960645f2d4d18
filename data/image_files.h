// The images of `ptl embed` and `ptl search`: every image file under a folder, or the paths a
// list file names, in a stated order.
#pragma once
#include <string>
#include <vector>

namespace ptl::data {

// `folder_or_list` a folder: every regular file under it, at any depth, whose name ends with one
// of image_extensions() (case-insensitively), sorted in byte order of the path (so "a.jpg",
// "a/b.jpg", "b.jpg"), each as folder + "/" + its path inside it.
// A file: a list of image paths, one per line, in the list's order; blank lines and lines
// starting with '#' are skipped, a trailing '\r' is dropped, and relative paths are taken
// relative to the list's folder. Files are not opened here: a missing or unreadable image fails
// when it is decoded (data.on_bad_image).
// Errors name the path: neither a folder nor a file, a folder without images, a list without
// paths.
std::vector<std::string> image_files(const std::string& folder_or_list);

}  // namespace ptl::data
