// `ptl selfcheck`: trains a tiny conv net on generated data and prints the falling loss.
// The README's first command runs it; it touches every part of the engine core.
#include <cmath>
#include <cstdio>

#include "cli/args.h"
#include "cli/command.h"
#include "engine/autograd.h"
#include "engine/ops.h"
#include "engine/rng.h"

namespace {

int run(const std::vector<std::string>& argv) {
  ptl::cli::Args args(
      "usage: ptl selfcheck [--steps N] [--seed S]\n"
      "Trains a small conv net (conv-bn-relu-avgpool-linear) with SGD on a generated\n"
      "4-class problem (which quadrant holds a bright blob) and prints the loss.",
      {"steps", "seed"});
  if (!args.parse(argv)) return 0;
  const int steps = static_cast<int>(args.get_int("steps", 60));
  ptl::manual_seed(static_cast<uint64_t>(args.get_int("seed", 0)));
  using namespace ptl;
  Generator& rng = default_generator();

  // Parameters, Kaiming-uniform-like scale.
  auto param = [&](Shape s, double scale) {
    Tensor t = Tensor::empty(s);
    rng.uniform_(t, -scale, scale);
    t.set_requires_grad();
    return t;
  };
  Tensor w1 = param({8, 1, 3, 3}, 1.0 / 3), g1 = ones({8}).set_requires_grad(),
         b1 = zeros({8}).set_requires_grad();
  Tensor rm = zeros({8}), rv = ones({8});
  Tensor w2 = param({4, 32}, 1.0 / std::sqrt(32.0)), b2 = zeros({4}).set_requires_grad();
  std::vector<Tensor> params{w1, g1, b1, w2, b2};

  const int64_t N = 32, H = 12;
  std::printf("selfcheck: %d SGD steps, batch %lld, input 1x%lldx%lld\n", steps, (long long)N,
              (long long)H, (long long)H);
  double first = 0, last = 0;
  for (int step = 0; step < steps; ++step) {
    // Data: noise plus a bright 4x4 blob in quadrant y.
    Tensor x = Tensor::empty({N, 1, H, H});
    rng.normal_(x, 0.0, 0.3);
    std::vector<int64_t> y(N);
    float* xp = x.data<float>();
    for (int64_t n = 0; n < N; ++n) {
      y[n] = rng.randint(4);
      int64_t r0 = (y[n] / 2) * 6 + 1, c0 = (y[n] % 2) * 6 + 1;
      for (int64_t r = r0; r < r0 + 4; ++r)
        for (int64_t c = c0; c < c0 + 4; ++c) xp[n * H * H + r * H + c] += 1.0f;
    }
    Tensor h =
        relu(batch_norm(conv2d(x, w1, Tensor(), {{1, 1}, {1, 1}, {1, 1}}), g1, b1, rm, rv, true));
    h = flatten(adaptive_avg_pool2d(h, {2, 2}), 1);  // (N, 32): where the blob is
    Tensor loss = cross_entropy(linear(h, w2, b2), from_vector(y, {N}));
    loss.backward();
    {
      NoGradGuard ng;
      for (Tensor& p : params) {
        Tensor updated = sub(p.detach(), mul(p.grad(), 0.5));
        Tensor dst = p.detach();
        copy_(dst, updated);
        p.zero_grad();
      }
    }
    last = loss.item();
    if (step == 0) first = last;
    if (step % 10 == 0 || step == steps - 1) std::printf("step %3d  loss %.4f\n", step, last);
  }
  std::printf("loss %.4f -> %.4f: %s\n", first, last,
              last < 0.5 * first ? "falling, engine OK" : "NOT falling");
  return last < 0.5 * first ? 0 : 1;
}

PTL_COMMAND("selfcheck", "train a tiny network on generated data and print the falling loss", run);

}  // namespace
