// Helpers for the ReID evaluation tests: tensors from vectors, and the NumPy
// reference (tests/reference/reid_eval_ref.py under /usr/bin/python3) run on a batch of cases.
#pragma once
#include <catch2/catch.hpp>

#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "engine/safetensors.h"
#include "tests/test_util.h"

namespace reid_test {

inline ptl::Tensor f32(const std::vector<float>& v, ptl::Shape shape) {
  ptl::Tensor t = ptl::Tensor::empty(shape, ptl::DType::F32);
  std::copy(v.begin(), v.end(), t.data<float>());
  return t;
}

inline ptl::Tensor i64(const std::vector<int64_t>& v) {
  ptl::Tensor t = ptl::Tensor::empty({int64_t(v.size())}, ptl::DType::I64);
  std::copy(v.begin(), v.end(), t.data<int64_t>());
  return t;
}

// A batch of cases for the reference: tensors "c<i>.<name>" and metadata "c<i>.<key>".
struct RefBatch {
  ptl::TensorMap tensors;
  std::map<std::string, std::string> meta;
  int cases = 0;
  std::string prefix(int c) const { return "c" + std::to_string(c) + "."; }

  // Runs the reference; returns its outputs (names as in the input).
  ptl::TensorMap run(const ptl::test::TempDir& dir) {
    meta["cases"] = std::to_string(cases);
    const std::string in = dir.file("ref_in.safetensors"), out = dir.file("ref_out.safetensors");
    ptl::save_safetensors(in, tensors, meta);
    const std::string cmd =
        "/usr/bin/python3 " PTL_SOURCE_DIR "/tests/reference/reid_eval_ref.py " + in + " " + out;
    INFO(cmd);
    REQUIRE(std::system(cmd.c_str()) == 0);
    return ptl::load_safetensors(out);
  }
};

}  // namespace reid_test
