// Parameter initialisations, as torch.nn.init, drawn from a ptl Generator.
#pragma once
#include "engine/rng.h"
#include "engine/tensor.h"

namespace ptl::init {

// fan_in = size(1) * receptive field; fan_out = size(0) * receptive field.
int64_t fan_in(const Tensor& w);
int64_t fan_out(const Tensor& w);

void uniform_(Tensor& t, double lo, double hi, Generator& g = default_generator());
void normal_(Tensor& t, double mean, double std, Generator& g = default_generator());
void constant_(Tensor& t, double v);
// kaiming_uniform_(a): bound = gain * sqrt(3 / fan), gain = sqrt(2 / (1 + a^2)).
void kaiming_uniform_(Tensor& t, double a, bool use_fan_in = true,
                      Generator& g = default_generator());
// kaiming_normal_ for ReLU: std = sqrt(2 / fan).
void kaiming_normal_(Tensor& t, bool use_fan_in = true, Generator& g = default_generator());
// PyTorch's default for Conv2d and Linear: kaiming_uniform_(a = sqrt(5)) on the weight and
// U(-1/sqrt(fan_in), 1/sqrt(fan_in)) on the bias.
void torch_default_(Tensor& weight, Tensor bias, Generator& g = default_generator());

}  // namespace ptl::init
