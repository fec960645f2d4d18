// .pth files written by Debian's PyTorch (tests/parity/gen_pth.py: a torchvision ResNet-50 with
// random weights) through what the user runs: `ptl forward --weights X.pth` gives PyTorch's
// logits for the plain state dict, the {"state_dict": {"module.*": ...}} wrapper and the legacy
// format, and model.pretrained=X.pth starts MGN-PTL's branches from the file's tensors (the
// trainer's constructor, where `ptl train` loads them).
#include <catch2/catch.hpp>

#include "engine/safetensors.h"
#include "engine/weights_file.h"
#include "tests/compare.h"
#include "tests/test_util.h"
#include "tests/tiny_run.h"
#include "train/trainer.h"

using namespace ptl;
using Catch::Contains;

namespace {
std::string fixture(const std::string& file) {
  return test::parity_fixture("pth/" + file);
}
}  // namespace

TEST_CASE("ptl forward on a .pth of torch.save gives PyTorch's ResNet-50 logits",
          "[parity][weights]") {
  test::TempDir dir;
  const TensorMap io = load_safetensors(fixture("resnet50_io.safetensors"));
  for (const char* file : {"resnet50.pth", "resnet50_wrapped.pth", "resnet50_legacy.pth"}) {
    INFO(file);
    const test::CliRun r = test::run_ptl("forward --model resnet50 --weights " + fixture(file) +
                                         " --input " + fixture("resnet50_io.safetensors") +
                                         " --output " + dir.file("y.safetensors"));
    INFO(r.out);
    REQUIRE(r.rc == 0);
    if (std::string(file) == "resnet50_wrapped.pth")
      CHECK_THAT(r.out, Contains("took the state dict under 'state_dict' (skipped 'epoch', "
                                 "'optimizer')") &&
                            Contains("removed nn.DataParallel's prefix 'module.'"));
    // Eval mode in float32, as the models' parity test bounds it (test_models_parity.cpp,
    // output_bound): 1e-4 of each element plus 1e-5 of the largest logit.
    CHECK_WITHIN(load_safetensors(dir.file("y.safetensors")).at("output"), io.at("output"),
                 (test::Bound{1e-4, 0, 1e-5}));
  }
}

TEST_CASE("model.pretrained takes a .pth: MGN-PTL's branches start from its ResNet-50",
          "[parity][weights]") {
  test::TempDir dir;
  // The plain file's tensors, which the test above shows to be PyTorch's.
  const TensorMap tv = load_model_weights(fixture("resnet50.pth"));
  Config c = test::tiny_run_config(dir.file("mgn"), 1);
  for (const char* kv : {"model.name=mgn_ptl", "data.height=96", "data.width=32", "loss.kind=mgn",
                         "loss.margin=1.2"})
    c.apply_override(kv);
  c.set("model.pretrained", fixture("resnet50_wrapped.pth"));
  Trainer t(c);
  CHECK_THAT(t.experiment().notes().front(), Contains("took the state dict under 'state_dict'"));
  const TensorMap ours = t.model().state_dict();
  for (const auto& [mine, theirs] : std::vector<std::pair<std::string, std::string>>{
           {"backbone.conv1.weight", "conv1.weight"},
           {"backbone.bn1.running_var", "bn1.running_var"},
           {"p2.0.4.conv3.weight", "layer3.5.conv3.weight"},
           {"p3.1.2.conv3.weight", "layer4.2.conv3.weight"}}) {
    INFO(mine << " from " << theirs);
    const bool equal = ours.at(mine).to_vector() == tv.at(theirs).to_vector();
    CHECK(equal);
  }
}
