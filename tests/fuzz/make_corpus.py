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


def zip64(entries):
    """A stored zip whose every size and offset sits in ZIP64 extra fields and records."""
    import zlib
    out, central = b"", b""
    for name, data in entries:
        n, crc, at = name.encode(), zlib.crc32(data), len(out)
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 45, 0, 0, 0, 0, crc, 0xFFFFFFFF, 0xFFFFFFFF, len(n), 20)
        out += n + struct.pack("<HHQQ", 1, 16, len(data), len(data)) + data
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 45, 45, 0, 0, 0, 0, crc, 0xFFFFFFFF,
                               0xFFFFFFFF, len(n), 28, 0, 0, 0, 0, 0xFFFFFFFF)
        central += n + struct.pack("<HHQQQ", 1, 24, len(data), len(data), at)
    at_dir, at_end64 = len(out), len(out) + len(central)
    out += central
    out += struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, len(entries), len(entries), len(central), at_dir)
    out += struct.pack("<IIQI", 0x07064B50, 0, at_end64, 1)
    return out + struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)


class CallsSystem:
    """Pickles as os.system("touch ..."): a .pth that would run a command if unpickled by Python."""

    def __reduce__(self):
        return (os.system, ("touch /tmp/ptl_pth_was_executed",))


def pth_seeds():
    """Files of torch.save (Debian's torch 1.13) for engine/pth.h: every layout and dtype it reads
    (tests/test_pth.cpp checks their values), the kinds it refuses, and hand-broken copies."""
    import collections
    import zipfile
    import torch

    def saved(obj, **kw):
        b = io.BytesIO()
        torch.save(obj, b, **kw)
        return b.getvalue()

    base = torch.arange(24, dtype=torch.float32).reshape(4, 6) / 4 - 2  # element k is k/4 - 2
    values = collections.OrderedDict()
    values["base"] = base
    values["t"] = base.t()  # strides (1, 6), base's storage
    values["narrow"] = base[1:3, 2:5]  # storage offset 8
    values["step"] = base[:, ::2]  # strides (6, 2)
    values["half"] = (torch.arange(5) / 8 - 0.25).half()
    values["bf16"] = (torch.arange(5) * 1.5).bfloat16()
    values["f64"] = torch.tensor([0.1, -2.5], dtype=torch.float64)
    values["i64"] = torch.tensor(7)
    values["i32"] = torch.tensor([1, -2], dtype=torch.int32)
    values["i8"] = torch.tensor([-3, 0, 5], dtype=torch.int8)
    values["u8"] = torch.tensor([0, 255], dtype=torch.uint8)
    values["bool"] = torch.tensor([True, False, True])
    values["empty"] = torch.zeros(0, 3)
    values["param"] = torch.nn.Parameter(torch.ones(2))
    zipped = saved(values)
    put("pth", "values.pth", zipped)
    put("pth", "values_legacy.pth", saved(values, _use_new_zipfile_serialization=False))
    put("pth", "values_protocol4.pth", saved(values, pickle_protocol=4))
    entries = [(i.filename, zipfile.ZipFile(io.BytesIO(zipped)).read(i)) for i in zipfile.ZipFile(io.BytesIO(zipped)).infolist()]
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in entries:
            z.writestr(name, data)
    put("pth", "values_deflated.pth", b.getvalue())
    put("pth", "values_zip64.pth", zip64(entries))

    layer = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 1), torch.nn.BatchNorm2d(2))
    sgd = torch.optim.SGD(layer.parameters(), lr=0.1, momentum=0.9)
    layer(torch.ones(2, 1, 2, 2)).sum().backward()
    sgd.step()
    wrapped = {"state_dict": {"module." + k: v for k, v in layer.state_dict().items()}, "epoch": 3,
               "best": 0.25, "optimizer": sgd.state_dict(), "arch": "tiny", "flags": [True, None, -70000]}
    put("pth", "wrapped.pth", saved(wrapped))
    put("pth", "ambiguous.pth", saved({"model": layer.state_dict(), "ema": layer.state_dict()}))
    put("pth", "model_object.pth", saved(layer))
    put("pth", "calls_system.pth", saved({"x": CallsSystem()}))
    put("pth", "expanded.pth", saved({"e": torch.zeros(1).expand(1000)}))  # stride 0: refused
    put("pth", "broken_truncated.pth", zipped[: len(zipped) // 2])
    flipped = bytearray(zipped)
    flipped[zipped.index(b"\x00\x00\x00\xc0") + 3] ^= 0x40  # base[0] = -2.0f: one bit of its data
    put("pth", "broken_crc.pth", bytes(flipped))


pth_seeds()
