#!/usr/bin/env python3
"""torchvision + PIL side of scripts/bench_data.sh: the same per-image work as ptl's
BM_pipeline_one_thread (open + decode + RGB, Resize 256x128 bilinear, RandomHorizontalFlip,
ToTensor, Normalize, RandomErasing p 0.5 value 0) on the same files, one thread.
Prints one JSON line: {"images_per_second": ..., "seconds_per_image": ...}: CPU time of this process
(best of --repeats), the same basis as Google Benchmark's items_per_second on the ptl side."""
import argparse, glob, json, os, time

import torch
import torchvision.transforms as T
from PIL import Image

ap = argparse.ArgumentParser()
ap.add_argument("folder")
ap.add_argument("--repeats", type=int, default=3)
ap.add_argument("--limit", type=int, default=2000)
args = ap.parse_args()

torch.set_num_threads(1)
torch.manual_seed(0)
files = sorted(glob.glob(os.path.join(args.folder, "*.jpg")))[: args.limit]
tf = T.Compose([
    T.Resize((256, 128), interpolation=T.InterpolationMode.BILINEAR),
    T.RandomHorizontalFlip(),
    T.ToTensor(),
    T.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
    T.RandomErasing(p=0.5, value=0),
])
best = float("inf")
for _ in range(args.repeats):
    t0 = time.process_time()  # CPU time, like Google Benchmark's items_per_second
    for f in files:
        with open(f, "rb") as fh:  # torchreid's read_image: PIL open + convert("RGB")
            img = Image.open(fh).convert("RGB")
        x = tf(img)
    best = min(best, (time.process_time() - t0) / len(files))
print(json.dumps({"images_per_second": 1.0 / best, "seconds_per_image": best, "images": len(files)}))
