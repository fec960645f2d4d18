#include "models/model.h"

namespace ptl {

std::vector<std::pair<std::string, Tensor>> named_outputs(const ModelOutput& out) {
  std::vector<std::pair<std::string, Tensor>> r{{"feature", out.feature}};
  for (size_t i = 0; i < out.logits.size(); ++i)
    r.emplace_back("logits." + std::to_string(i), out.logits[i]);
  for (size_t i = 0; i < out.triplet.size(); ++i)
    r.emplace_back("triplet." + std::to_string(i), out.triplet[i]);
  return r;
}

}  // namespace ptl
