// safetensors read/write: an 8-byte little-endian header length, a JSON header mapping each
// name to {"dtype", "shape", "data_offsets"}, then the raw little-endian data. The format for
// weights, checkpoints, features and test fixtures (readable by PyTorch, NumPy, HF tools).
#pragma once
#include <map>
#include <string>

#include "engine/tensor.h"

namespace ptl {

using TensorMap = std::map<std::string, Tensor>;

// Loads every tensor of `path` to the CPU. Throws ptl::Error naming the file and what is wrong
// (missing, truncated, bad header, unsupported dtype, overlapping or out-of-range offsets).
TensorMap load_safetensors(const std::string& path);
// Parses an in-memory file; `what` names it in error messages.
TensorMap parse_safetensors(const std::string& bytes, const std::string& what);

// Writes atomically (engine/atomic_file.h: temporary file, fsync, rename, folder fsync). A failure
// (full disk, unwritable folder) throws and leaves any existing `path` intact. `metadata` goes into
// the header's "__metadata__" (string values only, as the format requires).
void save_safetensors(const std::string& path, const TensorMap& tensors,
                      const std::map<std::string, std::string>& metadata = {});
std::string serialize_safetensors(const TensorMap& tensors,
                                  const std::map<std::string, std::string>& metadata = {});

// Reads only the "__metadata__" of a file (or of a file held in memory).
std::map<std::string, std::string> load_safetensors_metadata(const std::string& path);
std::map<std::string, std::string> parse_safetensors_metadata(const std::string& bytes,
                                                              const std::string& what);

// True when `bytes` starts like a safetensors file: a header length that fits, then '{'.
bool looks_like_safetensors(const std::string& bytes);

// The whole file; throws ptl::Error naming it when it cannot be read.
std::string read_file_bytes(const std::string& path);

}  // namespace ptl
