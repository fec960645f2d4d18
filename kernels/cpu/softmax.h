// CPU (log-)softmax along the middle dimension of x viewed as (outer, size, inner), and the
// fused cross-entropy with label smoothing over logits (N, K).
#pragma once
#include <cstdint>

namespace ptl::cpu {

template <class T>
void log_softmax_forward(const T* x, T* y, int64_t outer, int64_t size, int64_t inner);
// gx = g - exp(y) * sum(g) along the dimension (y = log_softmax output).
template <class T>
void log_softmax_backward(const T* g, const T* y, T* gx, int64_t outer, int64_t size, int64_t inner);

// Returns the mean loss; writes the per-row softmax into prob (N, K) for the backward.
template <class T>
double cross_entropy_forward(const T* logits, const int64_t* target, T* prob, int64_t N, int64_t K,
                             double smoothing);
// gx = scale * (prob - ((1 - eps) onehot + eps / K)) with scale = g / N.
template <class T>
void cross_entropy_backward(const T* prob, const int64_t* target, T* gx, int64_t N, int64_t K,
                            double smoothing, double scale);

}  // namespace ptl::cpu
