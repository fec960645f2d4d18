#!/usr/bin/python3
"""Writes the seed corpora of the fuzz targets to tests/fuzz/corpus/<target>/: small valid files
of every kind each parser reads. Run under Debian's /usr/bin/python3 (it has PIL). Files the
fuzzers found (regressions) live beside the seeds, named after what they broke, and are not
written here."""
import gzip
import io
import json
import os
import struct

from PIL import Image

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def put(target, name, data):
    os.makedirs(os.path.join(ROOT, target), exist_ok=True)
    with open(os.path.join(ROOT, target, name), "wb") as f:
        f.write(data.encode() if isinstance(data, str) else data)


def safetensors(tensors, metadata=None):
    """tensors: name -> (dtype, shape, raw bytes)."""
    header, data = {}, b""
    if metadata:
        header["__metadata__"] = metadata
    for name, (dtype, shape, raw) in tensors.items():
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    h = json.dumps(header).encode()
    return struct.pack("<Q", len(h)) + h + data


put("safetensors", "f32_2x2", safetensors({"w": ("F32", [2, 2], struct.pack("<4f", 1, -2, 0.5, 3))}))
put("safetensors", "mixed_meta", safetensors(
    {"layer.bias": ("F64", [3], struct.pack("<3d", 1, 2, 3)), "step": ("I64", [], struct.pack("<q", 7)),
     "ids": ("I32", [2, 1, 2], struct.pack("<4i", 0, 1, -1, 9)), "empty": ("F32", [0, 4], b"")},
    {"format": "pt", "note": "tab\there \u00e9"}))

put("json", "header", '{"__metadata__":{"k":"v"},"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}}')
put("json", "cuhk03_split", '[{"train":[["/x/1_1_1.png",1,0]],"query":[["a.png",2,1]],"gallery":[]}]')
put("json", "values", '{"s":"a\\"b\\\\c\\n\\t\\r\\b\\f\\u00e9\\u4e2d\\/","n":[-1.5e-3,0,1E9,12],'
                      '"t":true,"f":false,"z":null,"o":{},"a":[[[]]]}')

put("config", "plain", open(os.path.join(os.path.dirname(ROOT), "..", "..", "configs", "market1501_mgn.yaml")).read())
put("config", "with_base", "base: base.yaml\nmodel:\n  ptl: carry\ntrain: {out: runs/x}\n\0"
                           "data:\n  format: cifar100\n  height: 32\nschedule:\n  milestones: [1, 2]\n")
put("config", "base_cycle", "base: main.yaml\noptim.lr: 1e-3\n\0")
put("config", "flow_and_types", "optim: {name: sgd, lr: .1, amsgrad: yes}\neval:\n  rerank: 'true'\n"
                                "data:\n  batch_size: 0x10\nmodel: {freeze: [conv1, layer1]}\n\0base: other.yaml\n")


def pil(img, fmt, **kw):
    b = io.BytesIO()
    img.save(b, fmt, **kw)
    return b.getvalue()


rgb = Image.new("RGB", (12, 10))
rgb.putdata([((x * 20) % 256, (y * 25) % 256, 200 if (x // 4 + y // 4) % 2 else 40) for y in range(10) for x in range(12)])
put("image", "baseline.jpg", pil(rgb, "JPEG", quality=90))
put("image", "progressive.jpg", pil(rgb, "JPEG", quality=75, progressive=True))
put("image", "gray_420.jpg", pil(rgb.convert("L"), "JPEG", quality=50))
put("image", "subsampled.jpg", pil(rgb, "JPEG", quality=60, subsampling=2))
put("image", "rgb.png", pil(rgb, "PNG"))
put("image", "rgba_interlaced.png", pil(rgb.convert("RGBA"), "PNG", interlace=1))
put("image", "palette.png", pil(rgb.convert("P"), "PNG"))
put("image", "gray16.png", pil(rgb.convert("I").point(lambda v: v * 200), "PNG"))
put("image", "rgb.bmp", pil(rgb, "BMP"))


def be32(*v):
    return struct.pack(">%dI" % len(v), *v)


idx_images = be32(0x803, 2, 3, 3) + bytes(range(18))
idx_labels = be32(0x801, 3) + b"\x01\x02\x09"
put("idx", "images", idx_images)
put("idx", "labels", idx_labels)
put("idx", "images.gz", gzip.compress(idx_images, mtime=0))
put("idx", "labels.gz", gzip.compress(idx_labels, mtime=0))

planes = bytes((i * 7) % 256 for i in range(3072))
put("cifar", "cifar10", b"\x03" + planes + b"\x0c" + planes)  # second record: label out of range
put("cifar", "cifar100", b"\x02\x0b" + planes + b"\x13\x63" + planes)

put("list", "plain", "a/b.jpg 12 3\n# a comment\n\nq.jpg -1 0\n/abs/x.png 5\r\nbad line\n")
put("list", "msmt17", "0000/0000_000_01_0303morning_0015_0.jpg 0\n0001/0001_011_15_0303noon_0100_1.jpg 1\n")

for i, name in enumerate(["0002_c1s1_000451_03.jpg", "-1_c3s2_000101_00.jpg", "0000_c6s4_002452_01.jpg",
             "0005_c2_f0046985.jpg", "0001_000_05_0303noon_0100_0.jpg"]):
    put("reid_names", f"name_{i}", name)
