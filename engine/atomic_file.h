// Writing a file so that a crash, a kill or a full disk never leaves a partial one under its
// name: the bytes go to a temporary file beside it, are fsynced, renamed over `path`, and the
// folder is fsynced so the rename itself survives a power cut. A failure throws ptl::Error
// naming the file and leaves any previous `path` intact.
#pragma once
#include <string>

namespace ptl {

void write_file_atomic(const std::string& path, const std::string& bytes);

}  // namespace ptl
