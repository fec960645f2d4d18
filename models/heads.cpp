#include "models/heads.h"

#include "layers/init.h"

namespace ptl {

std::shared_ptr<Sequential> make_reduction(int64_t in, int64_t feats, bool bias) {
  auto conv = std::make_shared<Conv2d>(Conv2dSpec{in, feats, {1, 1}, {1, 1}, {0, 0}, {1, 1}, bias});
  auto bn = std::make_shared<BatchNorm2d>(feats);
  init::kaiming_normal_(conv->weight, /*use_fan_in=*/true);
  init::normal_(bn->weight, 1.0, 0.02);
  return std::make_shared<Sequential>(
      std::vector<std::shared_ptr<UnaryModule>>{conv, bn, std::make_shared<ReLU>()});
}

std::shared_ptr<Linear> make_classifier(int64_t feats, int64_t classes, bool fan_in) {
  PTL_CHECK(classes > 0, "classifier: the number of classes must be positive, got ", classes);
  auto fc = std::make_shared<Linear>(feats, classes);
  init::kaiming_normal_(fc->weight, fan_in);
  init::constant_(fc->bias, 0.0);
  return fc;
}

Tensor reduce(Sequential& reduction, const Tensor& pooled) {
  return flatten(reduction.forward(pooled), 1);
}

Tensor global_max_pool(const Tensor& x) {
  PTL_CHECK(x.dim() == 4, "global max pool: expects (N, C, H, W), got ", x.shape_str());
  return max_pool2d(x, Pool2dOptions{{x.size(2), x.size(3)}});
}

}  // namespace ptl
