#!/usr/bin/env python3
"""PyTorch side of scripts/bench_cpu.sh: times one workload in this process and prints one JSON
line {"median_ms", "min_ms", "max_ms", "gflop"}.

Workloads (the same as `ptl bench`):
  train MODEL BATCH CxHxW   forward, mean cross-entropy of the model's classifiers on random
                            labels, backward, torch.optim.SGD step (lr 0.01, no momentum),
                            gradients set to None (ptl: its Sgd optimizer, the same)
  infer MODEL BATCH CxHxW   eval-mode forward under no_grad
  cell OUT:STRIDE BATCH CxHxW   one BConv-Cell (3x3 gates conv C -> 4*OUT, carried state):
                            forward, sum of h, backward to the input and the gates' weight
The models are tests/parity/ptl_torch.py's, which mirror ptl's models/ parameter for parameter.
--device cuda runs the same workloads on the GPU machines' PyTorch 2.x (scripts/gpu_run.sh),
timed between CUDA events as `ptl bench --device cuda` is. --amp-bf16 runs the forward and the
loss under torch.autocast(dtype=torch.bfloat16), the one line a PyTorch user adds (--tf32 too:
what autocast leaves in float32 may then use TF32). --compile wraps the model (or cell) in
torch.compile (PyTorch 2.x, default mode, Inductor's C++ kernels on the CPU); the warm-up steps
include the compilation, so give at least one.

FLOPs: forward hooks on every nn.Conv2d and nn.Linear count 2 * multiply-adds (output elements x
Cin/groups x KH x KW, or x in_features). A train step counts each such layer 2x forward (forward
and weight gradient) plus 1x when its input needs a gradient (the stem's and the cell's image
input does not / does). Batch norm, activations, pooling, losses and the update are not counted
(they are well under 1% of the FLOPs, though not of the time).
"""
import argparse
import json
import os
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "parity"))
import ptl_torch  # noqa: E402

DEFAULT_CLASSES = {"mgn": 751, "mgn_ptl": 751}


def count_flops(module, run, train):
    total = [0]

    def hook(m, inp, out):
        if isinstance(m, nn.Conv2d):
            macs = out.numel() * (m.in_channels // m.groups) * m.kernel_size[0] * m.kernel_size[1]
        else:
            macs = out.numel() * m.in_features
        mult = 1 if not train else (2 + (1 if inp[0].requires_grad else 0))
        total[0] += 2 * macs * mult

    hs = [m.register_forward_hook(hook) for m in module.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    run()
    for h in hs:
        h.remove()
    return total[0]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("kind", choices=["train", "infer", "cell"])
    ap.add_argument("what")
    ap.add_argument("batch", type=int)
    ap.add_argument("input")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--device", default="cpu", help="cpu or cuda (the GPU machines' PyTorch 2.x)")
    ap.add_argument("--tf32", action="store_true", help="CUDA: allow TF32 in cuDNN and cuBLAS")
    ap.add_argument("--amp-bf16", action="store_true",
                    help="forward and loss under torch.autocast(dtype=torch.bfloat16), as a user adds it")
    ap.add_argument("--compile", action="store_true", help="torch.compile the model (PyTorch 2.x)")
    ap.add_argument("--deterministic", action="store_true",
                    help="CUDA: deterministic cuDNN algorithms only, as ptl's default")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    dev = torch.device(a.device)
    torch.backends.cudnn.deterministic = a.deterministic
    torch.backends.cudnn.allow_tf32 = a.tf32
    torch.backends.cuda.matmul.allow_tf32 = a.tf32
    C, H, W = (int(v) for v in a.input.split("x"))
    x = torch.randn(a.batch, C, H, W, device=dev)

    if a.kind == "cell":
        out, stride = (int(v) for v in a.what.split(":"))
        cell = ptl_torch.BConvCell(C, out, stride).to(dev)
        cell.train()
        x.requires_grad_(True)

        def step(net):
            net(x).sum().backward()
            cell.gates.weight.grad = None
            x.grad = None
        module, train = cell, True
    else:
        K = DEFAULT_CLASSES.get(a.what, 1000)
        model = ptl_torch.make_model(a.what, K).to(dev)
        train = a.kind == "train"
        model.train(train)
        labels = torch.randint(0, K, (a.batch,), device=dev)
        sgd = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0)

        def step(net):
            if not train:
                with torch.no_grad(), torch.autocast(dev.type, dtype=torch.bfloat16, enabled=a.amp_bf16):
                    net(x)
                return
            with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=a.amp_bf16):
                out = net(x)
                logits = out["logits"] if isinstance(out, dict) else [out]  # torchvision ResNets return logits
                loss = sum(F.cross_entropy(l, labels) for l in logits) / len(logits)
            loss.backward()
            sgd.step()
            sgd.zero_grad(set_to_none=True)
        module = model

    # FLOPs from forward hooks on the eager module; a compiled one counts them in one eager step
    # first (hooks removed after a compiled step would recompile it inside the timed steps).
    flops, net = None, module
    if a.compile:
        flops = count_flops(module, lambda: step(module), train)
        net = torch.compile(module)
    times = []
    for i in range(a.warmup + a.repeat):
        if dev.type == "cuda":  # device time between CUDA events, as ptl bench --device cuda
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
        t0 = time.perf_counter()
        if flops is None:
            flops = count_flops(module, lambda: step(net), train)
        else:
            step(net)
        if dev.type == "cuda":
            end.record()
            end.synchronize()
            dt = start.elapsed_time(end)
        else:
            dt = (time.perf_counter() - t0) * 1e3
        if i >= a.warmup:
            times.append(dt)
    print(json.dumps({"median_ms": statistics.median(times), "min_ms": min(times), "max_ms": max(times),
                      "gflop": flops / 1e9}))


if __name__ == "__main__":
    main()
