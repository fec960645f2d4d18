"""Reference fixtures for the training pieces: 10 steps of every optimizer configuration the
configs use, and the batch-hard triplet loss (value and gradient), from torch.optim and a
direct transcription of the loss (torchreid's TripletLoss formula) in PyTorch 1.13.

Usage: gen_train.py OUTDIR  (writes optim_*.safetensors and triplet_*.safetensors)
"""
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(__file__))
import st  # noqa: E402

STEPS = 10
OPTIMIZERS = {
    "sgd_momentum_wd": (torch.optim.SGD, dict(lr=0.05, momentum=0.9, weight_decay=5e-4)),
    "sgd_nesterov": (torch.optim.SGD, dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-4)),
    "sgd_plain": (torch.optim.SGD, dict(lr=0.1)),
    "adam": (torch.optim.Adam, dict(lr=1e-3)),
    "adam_amsgrad_wd": (torch.optim.Adam, dict(lr=2e-4, weight_decay=5e-4, amsgrad=True)),
    "adamw": (torch.optim.AdamW, dict(lr=1e-3, weight_decay=1e-2)),
}


def optimizer_fixture(out, name, cls, kw):
    g = torch.Generator().manual_seed(7)
    params = [torch.randn(4, 3, generator=g, requires_grad=True),
              torch.randn(5, generator=g, requires_grad=True)]
    tensors = {f"init.{i}": p.detach().clone() for i, p in enumerate(params)}
    opt = cls(params, **kw)
    for s in range(STEPS):
        for i, p in enumerate(params):
            p.grad = torch.randn(p.shape, generator=g)
            tensors[f"grad.{s}.{i}"] = p.grad.clone()
        opt.step()
        for i, p in enumerate(params):
            tensors[f"param.{s}.{i}"] = p.detach().clone()
    meta = {"optimizer": name, "steps": str(STEPS)}
    meta.update({k: str(v) for k, v in kw.items()})
    st.save(os.path.join(out, f"optim_{name}.safetensors"), tensors, meta)


def hardest(features, labels):
    """Per anchor, the distance of its hardest positive and of its hardest negative (Euclidean)."""
    n = features.size(0)
    dist = features.pow(2).sum(dim=1, keepdim=True).expand(n, n)
    dist = dist + dist.t()
    dist = dist - 2 * features @ features.t()
    dist = dist.clamp(min=1e-12).sqrt()
    mask = labels.expand(n, n).eq(labels.expand(n, n).t())
    ap = torch.stack([dist[i][mask[i]].max() for i in range(n)])
    an = torch.stack([dist[i][mask[i] == 0].min() for i in range(n)])
    return ap, an


def triplet(features, labels, margin):
    """torchreid's TripletLoss: hardest positive and negative per anchor on Euclidean distances."""
    ap, an = hardest(features, labels)
    if margin > 0:
        return torch.nn.functional.margin_ranking_loss(an, ap, torch.ones_like(an), margin=margin)
    return torch.nn.functional.soft_margin_loss(an - ap, torch.ones_like(an))


def triplet_fixture(out, name, margin):
    g = torch.Generator().manual_seed(11)
    labels = torch.tensor([0, 0, 0, 0, 3, 3, 3, 3, 5, 5, 5, 5, 9, 9, 9, 9], dtype=torch.int64)
    features = torch.randn(16, 8, generator=g).requires_grad_()
    loss = triplet(features, labels, margin)
    loss.backward()
    ap, an = hardest(features.detach(), labels)
    precision = (an > ap).double().mean().reshape(1)  # anchors whose negative is farther
    st.save(os.path.join(out, f"triplet_{name}.safetensors"),
            {"features": features.detach(), "labels": labels, "loss": loss.detach().reshape(1),
             "grad": features.grad, "precision": precision},
            {"margin": str(margin)})


def main():
    out = sys.argv[1]
    for name, (cls, kw) in OPTIMIZERS.items():
        optimizer_fixture(out, name, cls, kw)
    triplet_fixture(out, "margin", 1.2)
    triplet_fixture(out, "margin_small", 0.3)
    triplet_fixture(out, "soft", 0.0)


if __name__ == "__main__":
    main()
