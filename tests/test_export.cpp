// `ptl export` (export/onnx_export.h): what the ONNX file holds, read back with onnx.proto's
// classes, and the bad inputs, each refused in one line with no file left behind. The runtimes'
// checks (ONNX Runtime, OpenCV, onnx.checker from Python) are the onnx ctest group's
// (tests/onnx/check_onnx.py).
#include <catch2/catch.hpp>

#include <filesystem>
#include <map>

#include <onnx/onnx_pb.h>

#include "engine/ops.h"
#include "engine/rng.h"
#include "engine/safetensors.h"
#include "export/onnx_export.h"
#include "layers/bconv_cell.h"
#include "models/registry.h"
#include "tests/test_util.h"

using namespace ptl;
using Catch::Contains;

namespace {
onnx::ModelProto read_onnx(const std::string& path) {
  onnx::ModelProto m;
  REQUIRE(m.ParseFromString(test::file_text(path)));
  return m;
}
std::map<std::string, std::string> metadata(const onnx::ModelProto& m) {
  std::map<std::string, std::string> r;
  for (const auto& e : m.metadata_props()) r[e.key()] = e.value();
  return r;
}
}  // namespace

TEST_CASE("ptl export writes the graph, its metadata and state-dict-named weights", "[export]") {
  test::TempDir dir;
  auto r = test::run_ptl("export --model ptl_resnet20 --out " + dir.file("m.onnx"));
  INFO(r.out);
  REQUIRE(r.rc == 0);
  const onnx::ModelProto m = read_onnx(dir.file("m.onnx"));
  CHECK(m.opset_import(0).version() == 17);
  const auto meta = metadata(m);
  CHECK(meta.at("model") == "ptl_resnet20");
  CHECK(meta.at("input") == "3x32x32");
  CHECK(meta.at("mean") == "0.485,0.456,0.406");
  CHECK(meta.at("std") == "0.229,0.224,0.225");
  CHECK(meta.at("ptl_version") == PTL_VERSION);
  CHECK(meta.count("config_sha256") == 1);
  CHECK(meta.at("output") == "logits");
  const onnx::GraphProto& g = m.graph();
  REQUIRE(g.input_size() == 1);
  CHECK(g.input(0).type().tensor_type().shape().dim(0).dim_param() == "batch");
  CHECK(g.output(0).name() == "logits");
  // Every weight the logits read, under its state-dict key (fc.weight folded as its transpose).
  std::map<std::string, int> inits;
  for (const auto& t : g.initializer()) inits[t.name()] = 1;
  CHECK(inits.count("backbone.conv1.weight"));
  CHECK(inits.count("ptl.bconv1.gates.weight"));
  CHECK(inits.count("reduction.1.running_var"));
  CHECK(inits.count("fc.bias"));
  std::map<std::string, int> ops;
  for (const auto& n : g.node()) ops[n.op_type()] += 1;
  CHECK(ops["Conv"] > 20);
  CHECK(ops["BatchNormalization"] > 20);
  // The i and o gates of each of the 5 cells (bconv1-5: stem 2, between fuses 2, head 1); f
  // drops out with the zero state.
  CHECK(ops["Sigmoid"] == 2 * 5);
  CHECK(ops["MatMul"] == 1);

  // A config: its network (ReID: stride-1 last stage), its input, the feature, a fixed batch.
  r = test::run_ptl("export --config " + std::string(PTL_SOURCE_DIR) +
                    "/configs/synth_ptl_resnet20.yaml --batch 4 --normalize --opset 13 --out " +
                    dir.file("c.onnx"));
  INFO(r.out);
  REQUIRE(r.rc == 0);
  const onnx::ModelProto c = read_onnx(dir.file("c.onnx"));
  CHECK(c.opset_import(0).version() == 13);
  CHECK(c.graph().input(0).type().tensor_type().shape().dim(0).dim_value() == 4);
  CHECK(metadata(c).at("output") == "feature (L2-normalised)");
  CHECK(metadata(c).at("config_sha256").size() == 64);
}

TEST_CASE("ptl export refuses bad input in one line and writes nothing", "[export]") {
  test::TempDir dir;
  const std::string out = " --out " + dir.file("m.onnx");
  auto refused = [&](const std::string& args) {
    auto r = test::run_ptl("export " + args + out);
    INFO(r.out);
    CHECK(r.rc == 1);
    CHECK(!std::filesystem::exists(dir.file("m.onnx")));
    CHECK(std::filesystem::is_empty(dir.path()));  // no temporary left either
    return r.out;
  };
  CHECK_THAT(refused("--model resnet99"),
             Contains("unknown model 'resnet99'") && Contains("mgn_ptl"));
  // Weights of another model: the short weight-mismatch report, naming the file.
  {
    test::TempDir wdir;
    save_safetensors(wdir.file("w.safetensors"), make_model("resnet20", 10)->state_dict());
    CHECK_THAT(refused("--model resnet56 --weights " + wdir.file("w.safetensors")),
               Contains(wdir.file("w.safetensors")) && Contains("missing"));
  }
  // MGN: ceil(100 / 16) = 7 rows cannot be cut into 2 stripes.
  CHECK_THAT(refused("--model mgn --input 3x100x128"),
             Contains("--input") && Contains("3x100x128") && Contains("ceil(H / 16)"));
  CHECK_THAT(refused("--model resnet20 --opset 9"), Contains("opset 9"));
  CHECK_THAT(refused("--model resnet20 --batch 0"), Contains("--batch"));
  CHECK_THAT(refused("--model resnet20 --output logits --normalize"), Contains("--normalize"));
}

TEST_CASE("the export names an op without an ONNX mapping and restores the model", "[export]") {
  manual_seed(3);
  ModelOptions opt;
  auto model = make_model("ptl_resnet20", 10, opt);
  model->train(true);
  OnnxExportSpec spec;
  spec.input = {3, 32, 32};
  auto softmaxed = [&](const Tensor& x) { return log_softmax(model->forward(x).logits.at(0), 1); };
  CHECK_THROWS_WITH(export_onnx(*model, softmaxed, spec),
                    Contains("op 'log_softmax' has no ONNX mapping"));
  // Training mode and the cells' state draw are the model's again, failed export or not.
  CHECK(model->is_training());
  for (auto& [name, cell] : bconv_cells(*model)) CHECK(cell->spec().init == StateInit::Normal);
  auto logits = [&](const Tensor& x) { return model->forward(x).logits.at(0); };
  onnx::ModelProto m;
  REQUIRE(m.ParseFromString(export_onnx(*model, logits, spec)));
  CHECK(model->is_training());
  // A batch-mixing reshape cannot have a symbolic batch.
  auto mixed = [&](const Tensor& x) { return reshape(model->forward(x).logits.at(0), {-1}); };
  CHECK_THROWS_WITH(export_onnx(*model, mixed, spec), Contains("--batch N"));
}
