// The PTL side branch (docs/method.md, the release's `PTL` module), generic over a list of
// backbone taps so it attaches to ResNet-18/34/50, MGN and the CIFAR ResNets.
//
// Wiring, with T taps t_0..t_{T-1} (backbone maps, coarser and coarser):
//   s = bconv2(bconv1(image))                        two cells, 16 and 32 channels
//   z_0 = fuse1(cat(s, t_0))                          the release puts the side map first here
//   z_k = fuse{k+1}(cat(t_k, cell_k(z_{k-1})))        and the backbone map first after that
//   head_i = cell(z_{T-1}), one per backbone branch   pooled and concatenated with that branch
// fuse = 1x1 conv (bias) + BN + ReLU ("fuse1.0.weight", "fuse1.1.running_mean", ...); every
// cell is a BConvCell named bconv1, bconv2, ... in the order above. The fused maps do not
// re-enter the backbone. Widths (branch_widths) reproduce the release for ResNet-50:
//   bconv1 3->16/2, bconv2 16->32/2, fuse1 96->64, bconv3 64->64, fuse2 320->128,
//   bconv4 128->256/2, fuse3 768->256, bconv5 256->512/2, fuse4 1536->512, heads 512->128.
// Initialisation as the release: Kaiming-normal (fan_in) on every conv weight of the branch;
// with spec.fuse_bn_uniform, U(0, 1) on the fuse batch norms' weights.
#pragma once
#include <array>
#include <memory>
#include <vector>

#include "layers/bconv_cell.h"
#include "layers/layers.h"

namespace ptl {

struct BranchTap {
  int64_t channels;        // backbone channels at this tap
  int64_t stride_to_next;  // backbone stride from this tap to the next (unused for the last)
};

struct PTLBranchSpec {
  int64_t image_channels = 3;
  std::array<int64_t, 2> stem_strides{2, 2};  // bconv1, bconv2: their product is the stem's stride
  std::vector<BranchTap> taps;
  std::vector<int64_t> head_strides;  // one head cell per backbone branch, stride from the last tap
  StateMode state_mode = StateMode::Carry;
  StateInit state_init = StateInit::Normal;
  // The fuse batch norms' weights: U(0, 1) (true; PyTorch 0.4.1's BatchNorm2d default, which
  // the release's MGN_PTL ran under) or 1 (false; PyTorch >= 1.2's, ptl's own PTL-ResNets).
  bool fuse_bn_uniform = false;
};

// Channel widths: fuse k is as wide as its tap for k = 0 and half its tap after that; the cell
// after fuse 0 keeps its width, later ones double it; heads are a quarter of the last fuse;
// every width at least 16.
struct BranchWidths {
  std::vector<int64_t> fuse;  // T
  std::vector<int64_t> cell;  // T - 1: the cells between consecutive fuses
  int64_t head;
};
BranchWidths branch_widths(const std::vector<BranchTap>& taps);

class PTLBranch : public Module {
 public:
  explicit PTLBranch(const PTLBranchSpec& spec);
  // image (N, C, H, W); taps[k] (N, spec.taps[k].channels, H_k, W_k) -> z_{T-1} (N, fuse[T-1],
  // ...).
  Tensor trunk(const Tensor& image, const std::vector<Tensor>& taps);
  // Head cell i on z_{T-1}: (N, head, H', W'), values in (-1, 1).
  Tensor head(size_t i, const Tensor& z);
  int64_t head_channels() const { return widths_.head; }
  const std::vector<std::shared_ptr<BConvCell>>& cells() const { return cells_; }

 private:
  PTLBranchSpec spec_;
  BranchWidths widths_;
  std::vector<std::shared_ptr<BConvCell>> cells_;  // stem (2), between fuses (T-1), heads
  std::vector<std::shared_ptr<Sequential>> fuses_;
};

}  // namespace ptl
