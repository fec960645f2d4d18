#include "models/weights.h"

namespace ptl {

MappedState map_weights_file(WeightsFile file, const std::string& model_name) {
  MappedState m = adapt_state_dict(file.tensors, model_name);
  m.file_notes = std::move(file.notes);
  return m;
}

MappedState load_weights_for(const std::string& path, const std::string& model_name) {
  return map_weights_file(read_weights_file(path), model_name);
}

}  // namespace ptl
