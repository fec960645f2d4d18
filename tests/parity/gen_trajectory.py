"""The whole training loop against PyTorch: 20 Adam (AMSGrad, weight decay) steps of a small
PTL model in float64 (PTL-ResNet-20, BConv-Cell state carried across batches from a zero start) on fixed
batches, with the trainer's ce_triplet loss (batch-hard triplet, margin 0.3, + cross-entropy).

Usage: gen_trajectory.py OUTDIR  (writes trajectory/trajectory.safetensors: the initial weights as
w.<name>, the batches as x.<step> / y.<step>, the per-step losses as loss and the weights after
the last step as final.<name>)
"""
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ptl_torch as P  # noqa: E402
import st  # noqa: E402
from gen_train import triplet  # noqa: E402

STEPS, CLASSES = 20, 6


def main():
    out = os.path.join(sys.argv[1], "trajectory")
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(2020)
    torch.set_num_threads(2)
    # Float64 on both sides: with 6 samples the head's batch norm sees 6 values per channel on
    # 1x1 maps, and float32 rounding alone moves PyTorch's own gradients by ~1% there, which
    # Adam's normalised steps then amplify; float64 compares the arithmetic, not the rounding.
    model = P.make_model("ptl_resnet20", CLASSES, zeros_init=True).double()
    tensors = {f"w.{k}": v.detach().clone() for k, v in P.used_state_dict(model).items()}
    params = [p for _, p in P.used_parameters(model)]
    opt = torch.optim.Adam(params, lr=1e-3, weight_decay=5e-4, amsgrad=True)
    labels = torch.tensor([0, 0, 2, 2, 5, 5], dtype=torch.int64)
    losses = []
    model.train()
    for s in range(STEPS):
        x = torch.randn(6, 3, 32, 16, dtype=torch.float64)
        y = labels[torch.randperm(6)] if s % 2 else labels
        tensors[f"x.{s}"], tensors[f"y.{s}"] = x, y
        o = model(x)
        loss = triplet(o["triplet"][0], y, 0.3) + torch.nn.functional.cross_entropy(o["logits"][0], y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    tensors["loss"] = torch.tensor(losses, dtype=torch.float64)
    tensors.update({f"final.{k}": v.detach().clone() for k, v in P.used_state_dict(model).items()})
    st.save(os.path.join(out, "trajectory.safetensors"), tensors, {"steps": str(STEPS), "classes": str(CLASSES)})


if __name__ == "__main__":
    main()
