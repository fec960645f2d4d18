// Parity with PyTorch 1.13: every op's float32 forward output and input gradients against the
// fixtures that tests/parity/gen_ops.py writes into $PTL_PARITY_DIR/ops (see that script for
// the file layout). One DYNAMIC_SECTION per fixture, so a failure names its case.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "engine/ops.h"
#include "engine/safetensors.h"
#include "tests/compare.h"

namespace {

using namespace ptl;
namespace fs = std::filesystem;

// |got - ref| <= atol + rtol * |ref|, with atol = rtol / 10 * max|ref| over the tensor.
// The atol term exists for elements that are sums of many terms (GEMM and convolution dot
// products, reductions, the sums that undo broadcasting) and cancel to nearly zero: their
// rounding error scales with the terms, not with the result, so a purely relative bound would
// fail on correct code. Float32 rounding (eps 6e-8) accumulated over the at most a few hundred
// terms of these fixtures stays far below rtol / 10 of the tensor's largest element, so the
// bound stays tight; a wrong index, window or scale factor still fails it by orders of magnitude.
struct Tolerance {
  double rtol;
};
// Element-wise, shape, reduction, softmax and normalisation ops (the 1e-5).
constexpr Tolerance kElementwise{1e-5};
// GEMM-based ops (matmul, linear, conv2d, distances), batch_norm, pooling and losses: 1e-4,
// since PyTorch and the engine sum dot products and windows in different orders.
constexpr Tolerance kGemm{1e-4};

// One fixture file: its tensors, its metadata and the inputs as the op receives them.
class Fixture {
 public:
  explicit Fixture(const std::string& path)
      : tensors_(load_safetensors(path)), meta_(load_safetensors_metadata(path)) {
    for (auto& [key, t] : tensors_) {
      if (key.rfind("in.", 0) != 0) continue;
      const std::string name = key.substr(3);
      // A leaf takes a gradient exactly when PyTorch recorded one for it.
      if (tensors_.count("grad." + name)) t.set_requires_grad();
      inputs_[name] = apply_view(t, name);
    }
  }

  const std::string& op() const { return param("op"); }
  const std::string& name() const { return param("case"); }
  const TensorMap& tensors() const { return tensors_; }

  bool has(const std::string& input) const { return inputs_.count(input) > 0; }
  // The op's input `name` (a view of the stored leaf when the case asks for one).
  const Tensor& in(const std::string& input) const {
    auto it = inputs_.find(input);
    PTL_CHECK(it != inputs_.end(), "fixture has no input '", input, "'");
    return it->second;
  }
  // Inputs named p0, p1, ... in order (cat).
  std::vector<Tensor> parts() const {
    std::vector<Tensor> r;
    for (size_t i = 0; has("p" + std::to_string(i)); ++i) r.push_back(in("p" + std::to_string(i)));
    return r;
  }
  // The stored leaf that receives the gradient of input `name`.
  const Tensor& leaf(const std::string& input) const { return tensors_.at("in." + input); }

  const std::string& param(const std::string& key) const {
    auto it = meta_.find(key);
    PTL_CHECK(it != meta_.end(), "fixture metadata has no parameter '", key, "'");
    return it->second;
  }
  std::vector<int64_t> ints(const std::string& key) const {
    std::vector<int64_t> r;
    for (const std::string& s : split(param(key), ',')) r.push_back(parse<int64_t>(s, key));
    return r;
  }
  int64_t i(const std::string& key) const { return parse<int64_t>(param(key), key); }
  double d(const std::string& key) const { return parse<double>(param(key), key); }
  bool b(const std::string& key) const { return i(key) != 0; }
  std::array<int64_t, 2> pair(const std::string& key) const {
    std::vector<int64_t> v = ints(key);
    PTL_CHECK(v.size() == 2, "parameter '", key, "' = '", param(key), "' is not two integers");
    return {v[0], v[1]};
  }

 private:
  static std::vector<std::string> split(const std::string& s, char sep) {
    std::vector<std::string> r;
    std::stringstream ss(s);
    for (std::string item; std::getline(ss, item, sep);) r.push_back(item);
    return r;
  }
  // The whole of `s` as a T, or an error naming the parameter.
  template <class T>
  static T parse(const std::string& s, const std::string& key) {
    std::istringstream is(s);
    T v{};
    PTL_CHECK((is >> v) && is.eof(), "parameter '", key, "': '", s, "' is not a number");
    return v;
  }
  // "transpose:d0:d1" or "narrow:dim:start:length" from the metadata "view.<name>".
  Tensor apply_view(const Tensor& t, const std::string& name) const {
    auto it = meta_.find("view." + name);
    if (it == meta_.end()) return t;
    std::vector<std::string> f = split(it->second, ':');
    std::vector<int64_t> a;
    for (size_t k = 1; k < f.size(); ++k) a.push_back(parse<int64_t>(f[k], it->first));
    const std::string kind = f.empty() ? "" : f[0];
    if (kind == "transpose" && a.size() == 2) return transpose(t, a[0], a[1]);
    if (kind == "narrow" && a.size() == 3) return narrow(t, a[0], a[1], a[2]);
    fail(str("unknown view '", it->second, "' for input ", name));
  }

  TensorMap tensors_;
  std::map<std::string, std::string> meta_;
  std::map<std::string, Tensor> inputs_;
};

// Outputs keyed by fixture name: "out", or "out.<k>" for ops with several.
using Outputs = std::map<std::string, Tensor>;
Outputs one(const Tensor& t) {
  return {{"out", t}};
}
Outputs numbered(const std::vector<Tensor>& parts) {
  Outputs r;
  for (size_t i = 0; i < parts.size(); ++i) r["out." + std::to_string(i)] = parts[i];
  return r;
}
Outputs values_indices(const ValuesIndices& vi) {
  return {{"out.values", vi.values}, {"out.indices", vi.indices}};
}
Tensor optional_in(const Fixture& f, const std::string& name) {
  return f.has(name) ? f.in(name) : Tensor();
}
Pool2dOptions pool_options(const Fixture& f) {
  Pool2dOptions o;
  o.kernel = f.pair("kernel");
  o.stride = f.pair("stride");
  o.padding = f.pair("padding");
  o.ceil_mode = f.b("ceil_mode");
  return o;
}

struct OpEntry {
  Tolerance tol;
  std::function<Outputs(const Fixture&)> run;
};

// The op named in a fixture's metadata -> how to call the engine. Every op of engine/ops.h
// that has a gradient appears here, and the test "every engine op has PyTorch parity fixtures"
// below requires at least one fixture for each.
const std::map<std::string, OpEntry>& registry() {
  using F = const Fixture&;
  static const std::map<std::string, OpEntry> ops = {
      {"add", {kElementwise, [](F f) { return one(add(f.in("a"), f.in("b"))); }}},
      {"sub", {kElementwise, [](F f) { return one(sub(f.in("a"), f.in("b"))); }}},
      {"mul", {kElementwise, [](F f) { return one(mul(f.in("a"), f.in("b"))); }}},
      {"div", {kElementwise, [](F f) { return one(div(f.in("a"), f.in("b"))); }}},
      {"add_scalar", {kElementwise, [](F f) { return one(add(f.in("x"), f.d("s"))); }}},
      {"mul_scalar", {kElementwise, [](F f) { return one(mul(f.in("x"), f.d("s"))); }}},
      {"neg", {kElementwise, [](F f) { return one(neg(f.in("x"))); }}},
      {"pow", {kElementwise, [](F f) { return one(pow(f.in("x"), f.d("exponent"))); }}},
      {"relu", {kElementwise, [](F f) { return one(relu(f.in("x"))); }}},
      {"sigmoid", {kElementwise, [](F f) { return one(sigmoid(f.in("x"))); }}},
      {"tanh", {kElementwise, [](F f) { return one(ptl::tanh(f.in("x"))); }}},
      {"exp", {kElementwise, [](F f) { return one(ptl::exp(f.in("x"))); }}},
      {"log", {kElementwise, [](F f) { return one(ptl::log(f.in("x"))); }}},
      {"sqrt", {kElementwise, [](F f) { return one(ptl::sqrt(f.in("x"))); }}},
      {"abs", {kElementwise, [](F f) { return one(ptl::abs(f.in("x"))); }}},
      {"clamp", {kElementwise, [](F f) { return one(clamp(f.in("x"), f.d("lo"), f.d("hi"))); }}},
      {"sum",
       {kElementwise, [](F f) { return one(sum(f.in("x"), f.ints("dims"), f.b("keepdim"))); }}},
      {"mean",
       {kElementwise, [](F f) { return one(mean(f.in("x"), f.ints("dims"), f.b("keepdim"))); }}},
      {"sum_all", {kElementwise, [](F f) { return one(sum(f.in("x"))); }}},
      {"mean_all", {kElementwise, [](F f) { return one(mean(f.in("x"))); }}},
      {"max_dim",
       {kElementwise,
        [](F f) { return values_indices(max(f.in("x"), f.i("dim"), f.b("keepdim"))); }}},
      {"min_dim",
       {kElementwise,
        [](F f) { return values_indices(min(f.in("x"), f.i("dim"), f.b("keepdim"))); }}},
      {"max_all", {kElementwise, [](F f) { return one(max(f.in("x"))); }}},
      {"min_all", {kElementwise, [](F f) { return one(min(f.in("x"))); }}},
      {"reshape", {kElementwise, [](F f) { return one(reshape(f.in("x"), f.ints("shape"))); }}},
      {"flatten",
       {kElementwise, [](F f) { return one(flatten(f.in("x"), f.i("start"), f.i("end"))); }}},
      {"squeeze", {kElementwise, [](F f) { return one(squeeze(f.in("x"), f.i("dim"))); }}},
      {"unsqueeze", {kElementwise, [](F f) { return one(unsqueeze(f.in("x"), f.i("dim"))); }}},
      {"permute", {kElementwise, [](F f) { return one(permute(f.in("x"), f.ints("dims"))); }}},
      {"transpose",
       {kElementwise, [](F f) { return one(transpose(f.in("x"), f.i("d0"), f.i("d1"))); }}},
      {"narrow",
       {kElementwise,
        [](F f) { return one(narrow(f.in("x"), f.i("dim"), f.i("start"), f.i("length"))); }}},
      {"chunk",
       {kElementwise, [](F f) { return numbered(chunk(f.in("x"), f.i("chunks"), f.i("dim"))); }}},
      {"split",
       {kElementwise, [](F f) { return numbered(split(f.in("x"), f.ints("sizes"), f.i("dim"))); }}},
      {"cat", {kElementwise, [](F f) { return one(cat(f.parts(), f.i("dim"))); }}},
      {"flip", {kElementwise, [](F f) { return one(flip(f.in("x"), f.i("dim"))); }}},
      {"index_select",
       {kElementwise, [](F f) { return one(index_select(f.in("x"), f.i("dim"), f.in("index"))); }}},
      {"matmul", {kGemm, [](F f) { return one(matmul(f.in("a"), f.in("b"))); }}},
      {"linear",
       {kGemm, [](F f) { return one(linear(f.in("x"), f.in("w"), optional_in(f, "b"))); }}},
      {"conv2d",
       {kGemm,
        [](F f) {
          Conv2dOptions o;
          o.stride = f.pair("stride");
          o.padding = f.pair("padding");
          o.dilation = f.pair("dilation");
          return one(conv2d(f.in("x"), f.in("w"), optional_in(f, "b"), o));
        }}},
      {"batch_norm",
       {kGemm,
        [](F f) {
          // The running statistics are updated in place; the fixture holds them after the update.
          Tensor rm = f.in("running_mean"), rv = f.in("running_var");
          Tensor y = batch_norm(f.in("x"), optional_in(f, "w"), optional_in(f, "b"), rm, rv,
                                f.b("training"), f.d("momentum"), f.d("eps"));
          return Outputs{{"out", y}, {"out.running_mean", rm}, {"out.running_var", rv}};
        }}},
      {"max_pool2d", {kGemm, [](F f) { return one(max_pool2d(f.in("x"), pool_options(f))); }}},
      {"avg_pool2d",
       {kGemm,
        [](F f) {
          Pool2dOptions o = pool_options(f);
          o.count_include_pad = f.b("count_include_pad");
          return one(avg_pool2d(f.in("x"), o));
        }}},
      {"adaptive_avg_pool2d",
       {kGemm, [](F f) { return one(adaptive_avg_pool2d(f.in("x"), f.pair("output_size"))); }}},
      {"adaptive_max_pool2d",
       {kGemm, [](F f) { return one(adaptive_max_pool2d(f.in("x"), f.pair("output_size"))); }}},
      {"log_softmax", {kElementwise, [](F f) { return one(log_softmax(f.in("x"), f.i("dim"))); }}},
      {"softmax", {kElementwise, [](F f) { return one(softmax(f.in("x"), f.i("dim"))); }}},
      {"cross_entropy",
       {kGemm,
        [](F f) {
          return one(cross_entropy(f.in("logits"), f.in("target"), f.d("label_smoothing")));
        }}},
      {"pairwise_distance",
       {kGemm, [](F f) { return one(pairwise_distance(f.in("x"), f.in("y"))); }}},
      {"pairwise_sqdistance",
       {kGemm, [](F f) { return one(pairwise_sqdistance(f.in("x"), f.in("y"))); }}},
      {"l2_normalize",
       {kElementwise, [](F f) { return one(l2_normalize(f.in("x"), f.i("dim"), f.d("eps"))); }}},
  };
  return ops;
}

// Compares one tensor (tests/compare.h); a failure names op, case, tensor and the worst element.
void expect_close(const Fixture& f, const std::string& what, const Tensor& got, const Tensor& ref,
                  Tolerance tol) {
  const std::string where = f.op() + " / " + f.name() + " / " + what;
  if (got.shape() != ref.shape() || got.dtype() != ref.dtype()) {
    FAIL_CHECK(where << ": got " << dtype_name(got.dtype()) << got.shape_str() << ", PyTorch has "
                     << dtype_name(ref.dtype()) << ref.shape_str());
    return;
  }
  // Integer outputs (indices) must match exactly.
  const double rtol = is_floating(ref.dtype()) ? tol.rtol : 0.0;
  INFO(where << " (engine against PyTorch)");
  CHECK_WITHIN(got, ref, (test::Bound{rtol, 0, rtol / 10}));
}

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.rfind(prefix, 0) == 0;
}

void run_case(const Fixture& f) {
  auto op = registry().find(f.op());
  if (op == registry().end()) {
    FAIL_CHECK(f.name() << ": no engine mapping for op '" << f.op() << "' in test_parity_ops.cpp");
    return;
  }
  const Tolerance tol = op->second.tol;
  Outputs outs = op->second.run(f);

  // Forward: every reference output must be produced, and nothing else.
  for (const auto& [key, ref] : f.tensors()) {
    if (!starts_with(key, "out")) continue;
    auto it = outs.find(key);
    if (it == outs.end())
      FAIL_CHECK(f.op() << " / " << f.name() << ": the engine produced no '" << key << "'");
    else
      expect_close(f, key, it->second, ref, tol);
  }
  for (const auto& [key, t] : outs)
    if (!f.tensors().count(key))
      FAIL_CHECK(f.op() << " / " << f.name() << ": unexpected output " << key);

  // Backward: one output takes grad_out directly; several take loss = sum_k <out_k, grad_out_k>,
  // whose gradient w.r.t. each out_k is grad_out_k.
  std::vector<std::pair<Tensor, Tensor>> seeds;
  for (const auto& [key, g] : f.tensors()) {
    if (!starts_with(key, "grad_out")) continue;
    auto it = outs.find(key.substr(5));
    PTL_CHECK(it != outs.end(), "no engine output for ", key);
    seeds.emplace_back(it->second, g);
  }
  if (seeds.size() == 1) {
    seeds[0].first.backward(seeds[0].second);
  } else if (!seeds.empty()) {
    Tensor loss = sum(mul(seeds[0].first, seeds[0].second));
    for (size_t k = 1; k < seeds.size(); ++k)
      loss = add(loss, sum(mul(seeds[k].first, seeds[k].second)));
    loss.backward();
  }
  for (const auto& [key, ref] : f.tensors()) {
    if (!starts_with(key, "grad.")) continue;
    Tensor g = f.leaf(key.substr(5)).grad();
    if (!g.defined())
      FAIL_CHECK(f.op() << " / " << f.name() << ": no gradient reached input " << key.substr(5));
    else
      expect_close(f, key, g, ref, tol);
  }
}

// The fixture files of $PTL_PARITY_DIR/ops, sorted; fails the test when they are missing.
std::vector<std::string> fixture_files() {
  const char* root = std::getenv("PTL_PARITY_DIR");
  if (root == nullptr || *root == '\0')
    FAIL(
        "PTL_PARITY_DIR is not set: run the parity tests through ctest (the parity_fixtures "
        "test writes the fixtures with tests/parity/make_fixtures.sh)");
  const fs::path dir = fs::path(root) / "ops";
  if (!fs::is_directory(dir))
    FAIL(dir << " is not a directory (tests/parity/gen_ops.py writes it)");
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().extension() == ".safetensors") files.push_back(e.path().string());
  if (files.empty()) FAIL("no .safetensors fixtures in " << dir);
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace

TEST_CASE("every engine op matches PyTorch 1.13 forward and backward in float32", "[parity]") {
  for (const std::string& path : fixture_files()) {
    DYNAMIC_SECTION(fs::path(path).stem().string()) {
      try {
        run_case(Fixture(path));
      } catch (const std::exception& e) {
        FAIL_CHECK(path << ": " << e.what());
      }
    }
  }
}

TEST_CASE("every engine op has PyTorch parity fixtures", "[parity]") {
  std::set<std::string> covered;
  for (const std::string& path : fixture_files())
    covered.insert(load_safetensors_metadata(path).at("op"));
  for (const auto& [op, entry] : registry()) {
    INFO("op " << op);
    CHECK(covered.count(op) == 1);
  }
}
