#include "base/device.h"

#include "base/error.h"

namespace ptl {

Device Device::parse(const std::string& s) {
  if (s == "cpu") return cpu();
  if (s == "cuda") return cuda(0);
  if (s.rfind("cuda:", 0) == 0) {
    try {
      return cuda(std::stoi(s.substr(5)));
    } catch (const std::exception&) {
    }
  }
  fail(ptl::str("unknown device '", s, "': use cpu, cuda or cuda:N"));
}

}  // namespace ptl
