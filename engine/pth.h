// PyTorch checkpoint files (torch.save) read without Python: the zip format of PyTorch 1.6 and
// later (<archive>/data.pkl, <archive>/data/<storage key>, <archive>/byteorder) and the legacy
// format before it (_use_new_zipfile_serialization=False: magic, protocol and system pickles,
// the object pickle, the storage keys, then each storage's element count and bytes).
//
// The object pickle goes through a restricted unpickler (engine/pickle.h) that allows only what a
// state dict is made of: collections.OrderedDict, torch._utils._rebuild_tensor_v2,
// _rebuild_parameter (and _rebuild_parameter_with_state) and the torch.*Storage types. Any other
// class is refused by name, never imported or run: a pickled model object
// (torch.save(model)) gets "refuses to unpickle `torchvision.models.resnet.ResNet`".
//
// What is taken: the dict of tensors at the top, or the one dict of tensors among the values of
// a wrapper ({"state_dict": ..., "epoch": 3, "optimizer": ...}); non-tensor values are skipped and
// two dicts of tensors are refused as ambiguous, naming their keys. Tensors keep their shapes
// whatever their strides and storage offsets (views, transposes, storages shared by several
// tensors); float16 and bfloat16 become float32 and bool/int8/uint8/int16 become int64, both
// exactly, with a note; other dtypes (complex, quantized) are refused naming the tensor.
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "engine/safetensors.h"

namespace ptl {

struct PthFile {
  TensorMap tensors;
  std::vector<std::string> notes;  // what was converted or skipped, one line each
  std::string format;              // "PyTorch zip" or "PyTorch legacy"
};

// True when `bytes` starts like a file of torch.save: a zip archive or a pickle (PROTO).
bool looks_like_pth(std::string_view bytes);

// Parses a file of torch.save held in memory; `what` names it in errors. Throws ptl::Error naming
// the file and the fix.
PthFile parse_pth(std::string_view bytes, const std::string& what);

}  // namespace ptl
