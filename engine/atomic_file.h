// Writing a file so that a crash, a kill or a full disk never leaves a partial one under its
// name: the bytes go to a temporary file beside it, are fsynced, renamed over `path`, and the
// folder is fsynced so the rename itself survives a power cut. A failure throws ptl::Error
// naming the file and leaves any previous `path` intact.
#pragma once
#include <string>

namespace ptl {

void write_file_atomic(const std::string& path, const std::string& bytes);

// Checks, creating nothing, that the folder `dir` for a command's output exists or can be made:
// its nearest existing ancestor is a folder this process may write. A failure throws ptl::Error
// in the user's words: the setting that named the folder (`option`: "train.out", "--out"), the
// folder, why (a file in the way, no permission, a read-only disk) and the fix.
void check_output_folder(const std::string& dir, const std::string& option);
// check_output_folder, then makes the folder and its parents.
void create_output_folder(const std::string& dir, const std::string& option);

// Deletes the temporaries that killed writers left in `dir` (NAME.tmp.PID whose process no
// longer exists; a live writer's file is kept) and returns how many. A missing folder: 0.
int remove_stale_temporaries(const std::string& dir);

}  // namespace ptl
