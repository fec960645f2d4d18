#include "models/registry.h"

#include <algorithm>

#include "models/mgn.h"

namespace ptl {

const std::vector<std::string>& model_names() {
  static const std::vector<std::string> names{
      "resnet18",     "resnet34",     "resnet50",     "resnet20",     "resnet56", "ptl_resnet18",
      "ptl_resnet34", "ptl_resnet50", "ptl_resnet20", "ptl_resnet56", "mgn",      "mgn_ptl"};
  return names;
}

namespace {
void check_name(const std::string& name) {
  const auto& n = model_names();
  if (std::find(n.begin(), n.end(), name) != n.end()) return;
  std::string list;
  for (const auto& m : n) list += (list.empty() ? "" : ", ") + m;
  fail(str("unknown model '", name, "' (known: ", list, ")"));
}
bool cifar(const std::string& name) {
  return name.find("resnet20") != std::string::npos || name.find("resnet56") != std::string::npos;
}
}  // namespace

std::shared_ptr<Model> make_model(const std::string& name, int64_t num_classes,
                                  const ModelOptions& opt) {
  check_name(name);
  PTL_CHECK(num_classes > 0, "model ", name, ": the number of classes must be positive, got ",
            num_classes);
  if (name == "mgn" || name == "mgn_ptl") {
    PTL_CHECK(opt.in_channels == 3, "model ", name, ": takes 3-channel images, got ",
              opt.in_channels);
    PTLOptions p = opt.ptl;
    p.side_branch = name == "mgn_ptl" && p.side_branch;
    return std::make_shared<MGN>(num_classes, p);
  }
  if (name.rfind("ptl_", 0) == 0)
    return std::make_shared<PTLResNet>(
        resnet_config(name.substr(4), 0, opt.in_channels, opt.last_stride), num_classes, opt.ptl);
  return std::make_shared<ResNet>(
      resnet_config(name, num_classes, opt.in_channels, opt.last_stride));
}

int64_t default_num_classes(const std::string& name) {
  check_name(name);
  if (name.rfind("mgn", 0) == 0) return 751;
  return cifar(name) ? 10 : 1000;
}

Shape default_input(const std::string& name) {
  check_name(name);
  if (name.rfind("mgn", 0) == 0) return {3, 384, 128};
  return cifar(name) ? Shape{3, 32, 32} : Shape{3, 224, 224};
}

Shape parse_input_shape(const std::string& s) {
  Shape r;
  size_t pos = 0;
  while (pos <= s.size()) {
    const size_t x = std::min(s.find('x', pos), s.size());
    const std::string part = s.substr(pos, x - pos);
    PTL_CHECK(!part.empty() && part.find_first_not_of("0123456789") == std::string::npos &&
                  part.size() < 9,
              "input shape '", s, "': expected CxHxW with positive integers, e.g. 3x384x128");
    r.push_back(std::stoll(part));
    pos = x + 1;
  }
  PTL_CHECK(r.size() == 3 && r[0] > 0 && r[1] > 0 && r[2] > 0, "input shape '", s,
            "': expected CxHxW with positive integers, e.g. 3x384x128");
  return r;
}

}  // namespace ptl
