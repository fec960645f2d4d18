// PyTorch checkpoint files (engine/pth.h) and the one rule for weights files
// (engine/weights_file.h): the tensors of files written by Debian's torch 1.13 in every layout
// (tests/fuzz/corpus/pth/, written by tests/fuzz/make_corpus.py), what is refused and how, and
// `ptl forward --weights` on a training checkpoint. The ResNet-50 comparisons with PyTorch are
// in tests/test_pth_parity.cpp.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "engine/rng.h"
#include "engine/weights_file.h"
#include "tests/test_util.h"
#include "tests/tiny_run.h"
#include "train/checkpoint.h"
#include "train/trainer.h"

using namespace ptl;
using Catch::Contains;

namespace {
std::string seed(const std::string& name) {
  return std::string(PTL_SOURCE_DIR) + "/tests/fuzz/corpus/pth/" + name;
}

// Runs ptl with `args` and checks that it fails with one line naming `file` and saying `what`.
void refused(const std::string& args, const std::string& file, const std::string& what) {
  const test::CliRun r = test::run_ptl(args);
  INFO(r.out);
  CHECK(r.rc == 1);
  CHECK(std::count(r.out.begin(), r.out.end(), '\n') == 1);
  CHECK_THAT(r.out, Contains("ptl: error: " + file + ": ") && Contains(what));
}
}  // namespace

TEST_CASE("a .pth in every layout gives the tensors torch.save was given", "[weights]") {
  // tests/fuzz/make_corpus.py, pth_seeds(): base holds k/4 - 2 at element k; t, narrow and step
  // are views of its storage (transposed, offset 8, every other column).
  for (const char* file : {"values.pth", "values_legacy.pth", "values_protocol4.pth",
                           "values_deflated.pth", "values_zip64.pth"}) {
    INFO(file);
    const WeightsFile w = read_weights_file(seed(file));
    const TensorMap& t = w.tensors;
    REQUIRE(t.size() == 14);
    auto b = [](int k) { return k / 4.0f - 2; };
    std::vector<float> base, tr, step;
    for (int k = 0; k < 24; ++k) base.push_back(b(k));
    for (int c = 0; c < 6; ++c)
      for (int r = 0; r < 4; ++r) tr.push_back(b(6 * r + c));
    for (int r = 0; r < 4; ++r)
      for (int c = 0; c < 6; c += 2) step.push_back(b(6 * r + c));
    CHECK(t.at("base").shape() == Shape{4, 6});
    CHECK(t.at("base").to_vector() == base);
    CHECK(t.at("t").shape() == Shape{6, 4});
    CHECK(t.at("t").to_vector() == tr);
    CHECK(t.at("narrow").to_vector() == std::vector<float>{b(8), b(9), b(10), b(14), b(15), b(16)});
    CHECK(t.at("step").shape() == Shape{4, 3});
    CHECK(t.at("step").to_vector() == step);
    CHECK(t.at("half").dtype() == DType::F32);
    CHECK(t.at("half").to_vector() == std::vector<float>{-0.25f, -0.125f, 0, 0.125f, 0.25f});
    CHECK(t.at("bf16").to_vector() == std::vector<float>{0, 1.5f, 3, 4.5f, 6});
    CHECK(t.at("f64").dtype() == DType::F64);
    CHECK(t.at("f64").data<double>()[0] == 0.1);
    CHECK(t.at("i64").shape().empty());
    CHECK(t.at("i64").to_int_vector() == std::vector<int64_t>{7});
    CHECK(t.at("i32").dtype() == DType::I32);
    CHECK(t.at("i32").to_int_vector() == std::vector<int64_t>{1, -2});
    CHECK(t.at("i8").to_int_vector() == std::vector<int64_t>{-3, 0, 5});
    CHECK(t.at("u8").to_int_vector() == std::vector<int64_t>{0, 255});
    CHECK(t.at("bool").to_int_vector() == std::vector<int64_t>{1, 0, 1});
    CHECK(t.at("empty").shape() == Shape{0, 3});
    CHECK(t.at("param").to_vector() == std::vector<float>{1, 1});
    CHECK_THAT(w.format, Contains("torch.save"));
    REQUIRE(w.notes.size() == 5);
    CHECK(w.notes[2] == "converted 1 float16 tensor to float32 (exactly)");
  }
}

TEST_CASE("a .pth wrapper gives its one state dict without the DataParallel prefix", "[weights]") {
  const WeightsFile w = read_weights_file(seed("wrapped.pth"));
  std::vector<std::string> keys;
  for (const auto& [k, t] : w.tensors) keys.push_back(k);
  CHECK(keys == std::vector<std::string>{"0.bias", "0.weight", "1.bias", "1.num_batches_tracked",
                                         "1.running_mean", "1.running_var", "1.weight"});
  CHECK(w.tensors.at("1.num_batches_tracked").to_int_vector() == std::vector<int64_t>{1});
  REQUIRE(w.notes.size() == 2);
  CHECK(w.notes[0] ==
        "took the state dict under 'state_dict' (skipped 'epoch', 'best', 'optimizer', 'arch', "
        "'flags')");
  CHECK(w.notes[1] == "removed nn.DataParallel's prefix 'module.' from every key");
}

TEST_CASE("weights files that are not state dicts, or broken, are refused in one line",
          "[weights][cli]") {
  namespace fs = std::filesystem;
  const std::string marker = "/tmp/ptl_pth_was_executed";  // what calls_system.pth would touch
  fs::remove(marker);
  test::TempDir dir;
  save_safetensors(dir.file("x.safetensors"), {{"input", randn({1, 3, 32, 32})}});
  const std::string forward = "forward --model resnet20 --input " + dir.file("x.safetensors") +
                              " --output " + dir.file("y.safetensors") + " --weights ";
  refused(forward + seed("model_object.pth"), seed("model_object.pth"),
          "refuses to unpickle `torch.nn.modules.container.Sequential`: a .pth must hold a state "
          "dict (tensors only); save model.state_dict() instead");
  refused("info --weights " + seed("calls_system.pth"), seed("calls_system.pth"),
          "refuses to unpickle `posix.system`");
  CHECK_FALSE(fs::exists(marker));
  CHECK_FALSE(fs::exists(dir.file("y.safetensors")));
  refused("info --weights " + seed("ambiguous.pth"), seed("ambiguous.pth"),
          "holds 2 dicts of tensors ('model', 'ema')");
  refused("info --weights " + seed("expanded.pth"), seed("expanded.pth"),
          "tensor 'e' of size (1000) repeats the 1 elements of its storage (a broadcast view, "
          "stride 0); save tensor.clone() instead");
  refused("info --weights " + seed("broken_truncated.pth"), seed("broken_truncated.pth"),
          "truncated zip (no end-of-central-directory record): the file was cut short or is "
          "corrupt; copy or download it again");
  refused("info --weights " + seed("broken_crc.pth"), seed("broken_crc.pth"),
          "entry 'archive/data/0' fails its CRC-32 check");
  const std::string text = dir.file("notes.pth");
  std::ofstream(text) << "hello\n";
  refused("info --weights " + text, text,
          "not a weights file: neither safetensors nor a file of torch.save (it starts with 68 65 "
          "6c 6c 6f 0a); ptl reads .safetensors files, training checkpoints and .pth files");
  // Every cut of a zip and of a legacy file is refused, never read past its end.
  for (const char* file : {"values.pth", "values_legacy.pth", "values_zip64.pth"}) {
    const std::string bytes = test::file_text(seed(file));
    for (size_t n = 0; n < bytes.size(); n += 37) {
      INFO(file << " cut to " << n << " bytes");
      CHECK_THROWS_AS(parse_weights_file(bytes.substr(0, n), "cut.pth"), Error);
    }
  }
}

TEST_CASE("ptl forward and ptl info take a training checkpoint as weights", "[weights][cli]") {
  test::TempDir dir;
  Trainer t(test::tiny_run_config(dir.file("run"), 1));
  t.run();
  const std::string ckpt = list_checkpoints(dir.file("run")).back();
  save_safetensors(dir.file("w.safetensors"), load_checkpoint(ckpt).model);
  manual_seed(5);
  save_safetensors(dir.file("x.safetensors"), {{"input", randn({2, 3, 32, 16})}});
  const std::string classes = std::to_string(t.experiment().data().num_classes);
  auto forward = [&](const std::string& weights, const std::string& out) {
    const test::CliRun r = test::run_ptl(
        "forward --model ptl_resnet20 --bconv-init zeros --num-classes " + classes + " --weights " +
        weights + " --input " + dir.file("x.safetensors") + " --output " + out);
    INFO(r.out);
    CHECK(r.rc == 0);
    return test::file_text(out);
  };
  const std::string from_ckpt = forward(ckpt, dir.file("y1.safetensors"));
  CHECK(!from_ckpt.empty());
  CHECK(from_ckpt == forward(dir.file("w.safetensors"), dir.file("y2.safetensors")));
  const test::CliRun info = test::run_ptl("info --weights " + ckpt + " --model ptl_resnet20 " +
                                          "--num-classes " + classes + " --input 3x32x16");
  INFO(info.out);
  CHECK(info.rc == 0);
  CHECK_THAT(info.out, Contains("ptl training checkpoint (model tensors only, after epoch 1)") &&
                           Contains("a strict load succeeds"));
}
