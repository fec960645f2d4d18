"""Minimal safetensors writer (the safetensors package is not a dependency of the tests).

Layout: an 8-byte little-endian header length, a JSON header mapping each name to
{"dtype", "shape", "data_offsets"} (offsets relative to the data block) plus "__metadata__"
(string values only), then the raw little-endian data of each tensor in header order.
"""
import json
import struct

import numpy as np
import torch

_DTYPES = {
    np.dtype("float32"): ("F32", "<f4"),
    np.dtype("float64"): ("F64", "<f8"),
    np.dtype("int64"): ("I64", "<i8"),
    np.dtype("int32"): ("I32", "<i4"),
}


def save(path, tensors, metadata):
    """tensors: name -> torch.Tensor (any layout); metadata: name -> str."""
    header = {"__metadata__": {k: str(v) for k, v in metadata.items()}}
    blobs, offset = [], 0
    for name, t in tensors.items():
        t = t.detach().contiguous()
        if t.dtype == torch.bfloat16:  # NumPy has no bfloat16: its 16-bit patterns as they are
            a, st_dtype = t.view(torch.int16).numpy(), "BF16"
            data = a.astype("<i2", copy=False).tobytes()
        else:
            a = t.numpy()
            st_dtype, np_dtype = _DTYPES[a.dtype]
            data = a.astype(np_dtype, copy=False).tobytes()
        header[name] = {"dtype": st_dtype, "shape": list(a.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    head = json.dumps(header, separators=(",", ":")).encode()
    head += b" " * (-len(head) % 8)  # the format pads the header so the data is 8-byte aligned
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(head)))
        f.write(head)
        for b in blobs:
            f.write(b)
