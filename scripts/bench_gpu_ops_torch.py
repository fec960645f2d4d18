#!/usr/bin/env python3
"""PyTorch side of bench/bench_cuda.cpp on the GPU: the same conv2d layers and BConv-Cell gate
maths (as PyTorch's separate ops, the way a PyTorch user writes the cell) on cuda:0, timed with
CUDA events, median of REPS timed calls after warm-up. Writes one JSON line per case,
{"name", "median_ms"}, and first the card's device-to-device copy bandwidth, {"name":
"copy_bandwidth", "median_ms", "gbs"} (bytes read plus written, the gate kernels' yardstick).

Usage: bench_cuda --list_shapes > shapes.json
       python3 bench_gpu_ops_torch.py shapes.json [--tf32] [--out FILE]   (default: stdout)
"""
import argparse
import json
import statistics
import sys

import torch
import torch.nn.functional as F

REPS = 50


def timed(fn):
    for _ in range(5):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(REPS):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end))
    return statistics.median(times)


def gates(z, c_prev):
    i, f, o, g = z.chunk(4, 1)
    c = torch.sigmoid(f) * c_prev + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c), c


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("shapes")
    ap.add_argument("--tf32", action="store_true", help="allow TF32 in cuDNN and cuBLAS (off: exact float32)")
    ap.add_argument("--deterministic", action="store_true",
                    help="CUDA: deterministic cuDNN algorithms only, as ptl's default")
    ap.add_argument("--out", help="file for the JSON lines (default: stdout)")
    a = ap.parse_args()
    out = open(a.out, "w") if a.out else sys.stdout

    def emit(record):
        print(json.dumps(record), file=out, flush=True)

    torch.backends.cudnn.deterministic = a.deterministic
    torch.backends.cudnn.allow_tf32 = a.tf32
    torch.backends.cuda.matmul.allow_tf32 = a.tf32
    torch.backends.cudnn.benchmark = False  # ptl picks algorithms by heuristics, not by trial runs
    spec = json.load(open(a.shapes))
    n, dev = spec["batch"], "cuda"
    src = torch.empty(1 << 29, device=dev)  # 2 GiB of float32, far beyond the L2
    dst = torch.empty_like(src)
    copy_ms = timed(lambda: dst.copy_(src))
    emit({"name": "copy_bandwidth", "median_ms": copy_ms, "gbs": 2 * src.numel() * 4 / copy_ms / 1e6})
    del src, dst
    for c in spec["convs"]:
        x = torch.randn(n, c["C"], c["H"], c["W"], device=dev, requires_grad=True)
        w = (0.05 * torch.randn(c["Cout"], c["C"], c["K"], c["K"], device=dev)).requires_grad_()
        conv = lambda: F.conv2d(x, w, None, c["stride"], c["pad"])  # noqa: E731
        with torch.no_grad():
            fwd = timed(conv)
        y = conv()
        gy = torch.randn_like(y)

        def fwdbwd():
            x.grad = w.grad = None
            (conv() * gy).sum().backward()

        emit({"name": "conv_fwd/" + c["name"], "median_ms": fwd})
        emit({"name": "conv_fwdbwd/" + c["name"], "median_ms": timed(fwdbwd)})
    for c in spec["gates"]:
        z = torch.randn(n, 4 * c["C"], c["H"], c["W"], device=dev, requires_grad=True)
        c_prev = torch.randn(n, c["C"], c["H"], c["W"], device=dev)
        gh = torch.randn(n, c["C"], c["H"], c["W"], device=dev)
        with torch.no_grad():
            fwd = timed(lambda: gates(z, c_prev))

        def fwdbwd():
            z.grad = None
            gates(z, c_prev)[0].backward(gh)

        emit({"name": "gates_fwd/" + c["name"], "median_ms": fwd})
        emit({"name": "gates_fwdbwd/" + c["name"], "median_ms": timed(fwdbwd)})


if __name__ == "__main__":
    main()
