"""Files of torch.save for the .pth tests (tests/test_pth_parity.cpp reads them).

Usage: /usr/bin/python3 gen_pth.py OUTDIR   (Debian's python3-torch 1.13 + python3-torchvision)

Files in OUTDIR/pth, all of one torchvision ResNet-50 with seeded random weights and randomised
batch-norm statistics (so eval mode is not an identity):
  resnet50.pth            torch.save(model.state_dict())               (the zip format)
  resnet50_wrapped.pth    {"state_dict": {"module." + key: ...}, "epoch": 3, "optimizer": ...}
  resnet50_legacy.pth     the state dict with _use_new_zipfile_serialization=False
  resnet50_io.safetensors `input` (2, 3, 64, 64) and `output`, PyTorch's eval-mode logits
"""
import os
import sys

import torch
import torchvision

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ptl_torch as P  # noqa: E402
import st  # noqa: E402

OUT = os.path.join(sys.argv[1], "pth")
os.makedirs(OUT, exist_ok=True)
torch.set_num_threads(2)
torch.manual_seed(31)
model = torchvision.models.resnet50()
P.randomise_bn(model, 1)
model.eval()
sd = model.state_dict()
torch.save(sd, os.path.join(OUT, "resnet50.pth"))
sgd = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
torch.save({"state_dict": {"module." + k: v for k, v in sd.items()}, "epoch": 3,
            "optimizer": sgd.state_dict()}, os.path.join(OUT, "resnet50_wrapped.pth"))
torch.save(sd, os.path.join(OUT, "resnet50_legacy.pth"), _use_new_zipfile_serialization=False)
x = torch.randn(2, 3, 64, 64)
with torch.no_grad():
    y = model(x)
st.save(os.path.join(OUT, "resnet50_io.safetensors"), {"input": x, "output": y}, {})
