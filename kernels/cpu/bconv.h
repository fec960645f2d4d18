// Fused BConv-Cell gates on the CPU: one pass forward, one pass backward (see bconv_math.h).
// z (N, 4C, S) with gate blocks i, f, o, g along channels; c_prev, h, c (N, C, S).
#pragma once
#include <cstdint>

namespace ptl::cpu {

template <class T>
void bconv_gates_forward(const T* z, const T* c_prev, T* h, T* c, int64_t N, int64_t C, int64_t S);
template <class T>
void bconv_gates_backward(const T* z, const T* c_prev, const T* gh, T* gz, int64_t N, int64_t C, int64_t S);

}  // namespace ptl::cpu
