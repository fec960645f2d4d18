"""bfloat16 casts as PyTorch makes them (issue #30), for tests/test_bf16_parity.cpp.

Usage: gen_bf16.py OUTDIR  (writes bf16/casts.safetensors, with the safetensors writer st.py, so
ptl also reads a BF16 file written by Python):
  f32, f32_bf16    float32 edge values and x.to(torch.bfloat16): ties to even either way,
                   values just off a tie, NaNs with payloads and either sign, +-inf, the largest
                   finite float32 and others that round up to infinity, subnormals (float32 and
                   bf16), +-0, then 4096 random bit patterns
  f64, f64_bf16    float64 values and x.to(torch.bfloat16) (through float32 in PyTorch: double
                   rounding, which ptl must reproduce)
  all_bf16, all_bf16_f32   every one of the 65536 bf16 bit patterns and .float() of each
"""
import os
import struct
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import st  # noqa: E402


def f32_from_bits(bits):
    return torch.tensor(bits, dtype=torch.int64).to(torch.int32).view(torch.float32)


def main():
    out = os.path.join(sys.argv[1], "bf16")
    os.makedirs(out, exist_ok=True)
    edge = [
        0x3F808000,  # 1 + 2^-8: a tie, even neighbour below (0x3F80)
        0x3F818000,  # a tie whose even neighbour is above (0x3F82)
        0x3F808001, 0x3F807FFF,  # just above / below a tie
        0xBF808000, 0xBF818000,  # negative ties
        0x7FC00000, 0xFFC00000,  # quiet NaN, both signs
        0x7F800001, 0xFF800001,  # signalling NaN, smallest payload: must not round to inf
        0x7FFFFFFF, 0xFFFFFFFF, 0x7FA5A5A5, 0x7F80FFFF,  # NaN payloads, low bits only included
        0x7F800000, 0xFF800000,  # +-inf
        0x7F7FFFFF, 0xFF7FFFFF,  # largest finite float32: rounds to +-inf in bf16
        0x7F7F8000, 0x7F7F7FFF,  # the tie below it rounds to inf (odd 0x7F7F); just below stays
        0x00000001, 0x80000001,  # smallest float32 subnormal: rounds to +-0
        0x00008000, 0x00018000,  # subnormal ties
        0x007FFFFF, 0x00400000,  # largest subnormal (rounds to the smallest normal), a bf16 one
        0x00000000, 0x80000000,  # +-0
        0x3DCCCCCD, 0x40490FDB,  # 0.1, pi
    ]
    g = torch.Generator().manual_seed(30)
    rand = torch.randint(0, 1 << 32, (4096,), generator=g, dtype=torch.int64).tolist()
    f32 = f32_from_bits(edge + rand)
    f64 = torch.tensor([
        1.0 + 2.0 ** -8 + 2.0 ** -30,  # above a bf16 tie in float64, exactly a tie in float32:
        1.0 + 2.0 ** -8 - 2.0 ** -30,  # double rounding goes to even, single rounding would not
        1.0 + 2.0 ** -9 + 2.0 ** -40, 3.4028235677973366e38, 1e300, -1e300, 1e-50, -1e-50,
        float("nan"), float("inf"), -float("inf"), 0.0, -0.0, 0.1, 2.0 ** -133, 65504.0,
    ], dtype=torch.float64)
    f64 = torch.cat([f64, torch.randn(1024, generator=g, dtype=torch.float64) * 1e3])
    all_bf16 = torch.arange(-(1 << 15), 1 << 15, dtype=torch.int64).to(torch.int16).view(torch.bfloat16)
    st.save(os.path.join(out, "casts.safetensors"), {
        "f32": f32, "f32_bf16": f32.to(torch.bfloat16),
        "f64": f64, "f64_bf16": f64.to(torch.bfloat16),
        "all_bf16": all_bf16, "all_bf16_f32": all_bf16.float(),
    }, {"torch": torch.__version__})


if __name__ == "__main__":
    main()
