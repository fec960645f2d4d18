"""PyTorch reference fixtures for the models (tests/test_models_parity.cpp reads them).

Usage: /usr/bin/python3 gen_models.py OUTDIR   (Debian's python3-torch 1.13 + python3-torchvision)

Models come from ptl_torch.py (written from docs/method.md). Files in OUTDIR/models:
  models_counts.safetensors   metadata "<name>:<classes>:<in_channels>" -> parameter count
  model_{mgn,mgn_ptl}_from_tv.weights.safetensors  MGN / MGN-PTL built the release's way on the
                              torchvision ResNet-50 of model_tv_resnet50 (release keys)
  model_<model>.weights.safetensors  the model's weights (one set per model, shared by its cases):
                              under the C++ keys, or for MGN / MGN-PTL under the release's full
                              key set (with its unused copies), loaded through models/release_keys.h
  model_<case>.safetensors    in.input[.<b>], out.<name>[.<b>] (feature, logits.<i>, triplet.<i>),
                              for backward cases grad_out.<name> and grad.<param>, grad.input, and
                              buf.<name> (buffers after the forward); metadata: model, classes,
                              mode (eval|train), batches, backward
BN statistics and affine parameters are randomised so eval mode is not an identity; BConv-Cell
states start from zeros on both sides. Train-mode cases run in float64 (metadata dtype F64; the
stored tensors are rounded to float32): BN with batch statistics over 4 samples on 1x1 pooled
maps is ill-conditioned, so float32 PyTorch itself is ~1e-3 away from its float64 result there
and no float32 comparison could meet rtol 1e-4. Eval cases run in float32.
"""
import copy
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ptl_torch as P  # noqa: E402
import st  # noqa: E402

OUT = os.path.join(sys.argv[1], "models")
os.makedirs(OUT, exist_ok=True)
for f in os.listdir(OUT):  # weights are written once per model: start clean
    os.remove(os.path.join(OUT, f))
torch.set_num_threads(2)


def counts():
    meta = {}
    for name in P.NAMES:
        for k in (751, 10):
            meta[f"{name}:{k}:3"] = sum(v.numel() for _, v in P.used_parameters(P.make_model(name, k)))
    for name in ("resnet20", "ptl_resnet20"):
        meta[f"{name}:10:1"] = sum(v.numel() for _, v in P.used_parameters(P.make_model(name, 10, in_channels=1)))
    meta["resnet50:1000:3"] = sum(v.numel() for v in P.make_model("resnet50", 1000).parameters())
    assert meta["mgn:751:3"] == 66678200 and meta["mgn_ptl:751:3"] == 80887992, meta
    assert meta["resnet50:1000:3"] == 25557032 and meta["resnet50:751:3"] == 25046831, meta
    st.save(os.path.join(OUT, "models_counts.safetensors"), {"dummy": torch.zeros(1)}, meta)


def make(model_name, classes, in_channels):
    """The model with seeded weights, saved once per model name."""
    torch.manual_seed(sum(map(ord, model_name)))
    model = P.make_model(model_name, classes, in_channels=in_channels, zeros_init=True)
    P.randomise_bn(model, 1)
    path = os.path.join(OUT, f"model_{model_name}.weights.safetensors")
    if not os.path.exists(path):
        st.save(path, model.state_dict() if isinstance(model, P.MGN) else P.used_state_dict(model), {})
    return model


def case(name, model_name, classes, shape, batches, train, backward, in_channels=3):
    model = make(model_name, classes, in_channels)
    torch.manual_seed(sum(map(ord, name)))
    model.train(train)
    dtype = torch.float64 if train else torch.float32
    model.to(dtype)
    t = {}
    for b, n in enumerate(batches):
        x = torch.randn(n, *shape)
        t[f"in.input.{b}"] = x.clone()
        x = x.to(dtype).requires_grad_(backward)
        out = model(x)
        named = {"feature": out["feature"]}
        named.update({f"logits.{i}": v for i, v in enumerate(out["logits"])})
        named.update({f"triplet.{i}": v for i, v in enumerate(out["triplet"])})
        for k, v in named.items():
            t[f"out.{k}.{b}"] = v.detach().clone()
        if backward:
            grads = {k: torch.randn(v.shape).to(dtype) for k, v in named.items() if not k.startswith("triplet")}
            torch.autograd.backward([named[k] for k in grads], list(grads.values()))
            t.update({f"grad_out.{k}": g for k, g in grads.items()})
            t.update({f"grad.{k}": (v.grad if v.grad is not None else torch.zeros_like(v)).clone()
                      for k, v in P.used_parameters(model)})
            t["grad.input"] = x.grad.clone()
    t.update({f"buf.{k}": v.clone() for k, v in model.named_buffers() if not P.unused(model, k)})
    t = {k: v.float() if v.is_floating_point() else v for k, v in t.items()}
    meta = {"model": model_name, "classes": classes, "mode": "train" if train else "eval", "dtype": "F64" if train else "F32",
            "batches": len(batches), "backward": int(backward)}
    st.save(os.path.join(OUT, f"model_{name}.safetensors"), t, meta)


def torchvision_resnet50():
    torch.manual_seed(50)
    m = P.make_model("resnet50", 1000).eval()
    P.randomise_bn(m, 2)
    st.save(os.path.join(OUT, "model_tv_resnet50.weights.safetensors"), m.state_dict(), {})
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        y = m(x)
    st.save(os.path.join(OUT, "model_tv_resnet50.safetensors"), {"in.input.0": x, "out.logits.0.0": y},
            {"model": "resnet50", "classes": 1000, "mode": "eval", "batches": 1, "backward": 0})
    return m


def mgn_from_torchvision(tv):
    """MGN and MGN-PTL built the release's way on the torchvision ResNet-50 `tv`: the C++
    trainer's mapping of its weights must give every backbone and branch tensor of these."""
    for name in ("mgn", "mgn_ptl"):
        torch.manual_seed(51)
        m = P.MGN(751, ptl=name == "mgn_ptl", backbone=copy.deepcopy(tv))
        st.save(os.path.join(OUT, f"model_{name}_from_tv.weights.safetensors"), m.state_dict(), {})


counts()
mgn_from_torchvision(torchvision_resnet50())
case("ptl_resnet50_eval", "ptl_resnet50", 751, (3, 128, 64), [2], False, False)
case("ptl_resnet50_train", "ptl_resnet50", 751, (3, 128, 64), [4], True, True)
case("ptl_resnet20_train", "ptl_resnet20", 10, (1, 28, 28), [4], True, True, in_channels=1)
case("mgn_train", "mgn", 751, (3, 96, 32), [4], True, True)
case("mgn_ptl_train", "mgn_ptl", 751, (3, 96, 32), [4], True, True)
case("mgn_ptl_carry", "mgn_ptl", 751, (3, 96, 32), [3, 3, 2], True, False)
case("mgn_ptl_eval_384", "mgn_ptl", 751, (3, 384, 128), [2], False, False)
