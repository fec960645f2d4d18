"""Minimal safetensors reader and writer (the safetensors package is not a dependency of the
tests).

Layout: an 8-byte little-endian header length, a JSON header mapping each name to
{"dtype", "shape", "data_offsets"} (offsets relative to the data block) plus "__metadata__"
(string values only), then the raw little-endian data of each tensor in header order.
"""
import json
import struct

import numpy as np

_DTYPES = {
    np.dtype("float32"): ("F32", "<f4"),
    np.dtype("float64"): ("F64", "<f8"),
    np.dtype("int64"): ("I64", "<i8"),
    np.dtype("int32"): ("I32", "<i4"),
}


def save(path, tensors, metadata):
    """tensors: name -> torch.Tensor or numpy array (any layout); metadata: name -> str."""
    header = {"__metadata__": {k: str(v) for k, v in metadata.items()}}
    blobs, offset = [], 0
    for name, t in tensors.items():
        a = t.detach().contiguous().numpy() if hasattr(t, "detach") else np.ascontiguousarray(t)
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


def load(path):
    """Returns (name -> numpy array, metadata dict)."""
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    metadata = header.pop("__metadata__", {})
    by_name = {v[0]: np.dtype(v[1]) for v in _DTYPES.values()}
    tensors = {}
    for name, h in header.items():
        begin, end = h["data_offsets"]
        data = raw[8 + n + begin:8 + n + end]
        tensors[name] = np.frombuffer(data, dtype=by_name[h["dtype"]]).reshape(h["shape"]).copy()
    return tensors, metadata
