#!/usr/bin/python3
"""PyTorch side of scripts/bench_ops.sh: GEMM, conv2d forward and forward+backward timings.

Reads the cases that `bench_ops --list_shapes` prints (so both sides run the same shapes) and
prints JSON {"<gemm|conv_fwd|conv_fwdbwd>/<name>/threads:<t>": median milliseconds}, keys as
bench_ops names its cases. Forward runs under torch.no_grad(); forward+backward computes input
and weight gradients (no bias), as bench_ops does. Needs Debian's python3-torch
(/usr/bin/python3).
"""
import argparse
import json
import re
import statistics
import time

import torch


def time_ms(fn, warmup, repeats, min_seconds):
    for _ in range(warmup):
        fn()
    samples = []
    while len(samples) < repeats:
        # One sample is the mean over enough calls to last min_seconds (like Google Benchmark).
        calls, start = 0, time.perf_counter()
        while True:
            fn()
            calls += 1
            elapsed = time.perf_counter() - start
            if elapsed >= min_seconds:
                break
        samples.append(1e3 * elapsed / calls)
    return statistics.median(samples)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("shapes", help="JSON file from `bench_ops --list_shapes`")
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--min_seconds", type=float, default=0.5)
    ap.add_argument("--filter", default=".", help="regex on the case names, as bench_ops's")
    args = ap.parse_args()
    with open(args.shapes) as f:
        cases = json.load(f)

    torch.manual_seed(0)
    results = {}

    def run(key, fn):
        if re.search(args.filter, key):
            results[key] = time_ms(fn, args.warmup, args.repeats, args.min_seconds)

    for threads in args.threads:
        torch.set_num_threads(threads)
        suffix = f"threads:{threads}"
        for c in cases["gemm"]:
            a = torch.randn(c["M"], c["K"])
            b = torch.randn(c["N"], c["K"]).t() if c["trans_b"] else torch.randn(c["K"], c["N"])
            run(f"gemm/{c['name']}/{suffix}", lambda: torch.mm(a, b))
        for c in cases["conv"]:
            x = torch.randn(c["N"], c["C"], c["H"], c["W"])
            w = torch.randn(c["Cout"], c["C"], c["KH"], c["KW"])
            conv = lambda x, w: torch.nn.functional.conv2d(x, w, None, c["stride"], c["pad"])

            def fwd():
                with torch.no_grad():
                    conv(x, w)

            xg, wg = x.clone().requires_grad_(), w.clone().requires_grad_()
            gy = torch.randn_like(conv(x, w))

            def fwdbwd():
                xg.grad = wg.grad = None
                conv(xg, wg).backward(gy)

            run(f"conv_fwd/{c['name']}/{suffix}", fwd)
            run(f"conv_fwdbwd/{c['name']}/{suffix}", fwdbwd)
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
