#include "models/ptl_branch.h"

#include <algorithm>

#include "layers/init.h"

namespace ptl {

namespace {
constexpr int64_t kStemWidths[2] = {16, 32};  // bconv1, bconv2 (the release's)
constexpr int64_t kMinWidth = 16;
}  // namespace

BranchWidths branch_widths(const std::vector<BranchTap>& taps) {
  PTL_CHECK(taps.size() >= 2, "PTL side branch: needs at least 2 backbone taps, got ", taps.size());
  BranchWidths w;
  for (size_t k = 0; k < taps.size(); ++k)
    w.fuse.push_back(std::max(kMinWidth, k == 0 ? taps[k].channels : taps[k].channels / 2));
  for (size_t k = 0; k + 1 < taps.size(); ++k) w.cell.push_back(k == 0 ? w.fuse[k] : 2 * w.fuse[k]);
  w.head = std::max(kMinWidth, w.fuse.back() / 4);
  return w;
}

PTLBranch::PTLBranch(const PTLBranchSpec& spec) : spec_(spec), widths_(branch_widths(spec.taps)) {
  PTL_CHECK(!spec.head_strides.empty(), "PTL side branch: needs at least one head");
  auto cell = [&](int64_t in, int64_t out, int64_t stride) {
    auto c = std::make_shared<BConvCell>(
        BConvCellSpec{in, out, stride, spec.state_mode, spec.state_init});
    cells_.push_back(register_module("bconv" + std::to_string(cells_.size() + 1), c));
  };
  cell(spec.image_channels, kStemWidths[0], spec.stem_strides[0]);
  cell(kStemWidths[0], kStemWidths[1], spec.stem_strides[1]);
  const size_t T = spec.taps.size();
  for (size_t k = 0; k + 1 < T; ++k)
    cell(widths_.fuse[k], widths_.cell[k], spec.taps[k].stride_to_next);
  for (int64_t s : spec.head_strides) cell(widths_.fuse.back(), widths_.head, s);
  for (size_t k = 0; k < T; ++k) {
    const int64_t side = k == 0 ? kStemWidths[1] : widths_.cell[k - 1];
    auto conv =
        std::make_shared<Conv2d>(Conv2dSpec{side + spec.taps[k].channels, widths_.fuse[k], {1, 1}});
    auto bn = std::make_shared<BatchNorm2d>(widths_.fuse[k]);
    if (spec.fuse_bn_uniform) init::uniform_(bn->weight, 0.0, 1.0);
    fuses_.push_back(
        register_module("fuse" + std::to_string(k + 1),
                        std::make_shared<Sequential>(std::vector<std::shared_ptr<UnaryModule>>{
                            conv, bn, std::make_shared<ReLU>()})));
  }
  for (auto& [name, p] : named_parameters())
    if (p.dim() == 4) init::kaiming_normal_(p, /*use_fan_in=*/true);
}

Tensor PTLBranch::trunk(const Tensor& image, const std::vector<Tensor>& taps) {
  PTL_CHECK(taps.size() == fuses_.size(), "PTL side branch: expects ", fuses_.size(),
            " backbone taps, got ", taps.size());
  Tensor s = cells_[1]->forward(cells_[0]->forward(image));
  for (size_t k = 0; k < taps.size(); ++k) {
    PTL_CHECK(
        taps[k].dim() == 4 && s.dim() == 4 && taps[k].size(2) == s.size(2) &&
            taps[k].size(3) == s.size(3),
        "PTL side branch: fuse", k + 1, " joins the backbone map ", taps[k].shape_str(),
        " with the side map ", s.shape_str(),
        "; their spatial sizes differ (the side branch's strides do not match the backbone's)");
    s = fuses_[k]->forward(k == 0 ? cat({s, taps[k]}, 1) : cat({taps[k], s}, 1));
    if (k + 1 < taps.size()) s = cells_[2 + k]->forward(s);
  }
  return s;
}

Tensor PTLBranch::head(size_t i, const Tensor& z) {
  const size_t first = 2 + fuses_.size() - 1;
  PTL_CHECK(i < spec_.head_strides.size(), "PTL side branch: head ", i, " of ",
            spec_.head_strides.size());
  return cells_[first + i]->forward(z);
}

}  // namespace ptl
