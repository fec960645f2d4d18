#!/usr/bin/python3
"""NumPy reference for ptl's ReID evaluation, written from docs/evaluation.md and the
k-reciprocal re-ranking algorithm (Zhong et al., CVPR 2017, as in torchreid's re_ranking), not from
any tool's code. Deliberately plain: full stable argsort per query, dense (N, N) re-ranking.

usage: reid_eval_ref.py IN.safetensors OUT.safetensors

IN holds cases "c<i>.<tensor>" and "__metadata__" {"cases": n, "c<i>.task": ...}:
  task "eval":     c<i>.distmat (Q, G) f32, c<i>.{query,gallery}_{pids,camids} i64;
                   metadata max_rank, cuhk03 (0/1), draws, seed
                   -> c<i>.cmc (K) f64, c<i>.ap (Q) f64 (NaN when skipped), c<i>.summary f64
                      [mAP, mINP, num_valid]
  task "rerank":   c<i>.qg (Q, G), c<i>.qq (Q, Q), c<i>.gg (G, G) f32; metadata k1, k2, lambda
                   -> c<i>.rerank (Q, G) f64
  task "distance": c<i>.a (R, D), c<i>.b (C, D) f32; metadata metric -> c<i>.dist (R, C) f64
"""
import json
import struct
import sys

import numpy as np

DTYPES = {"F32": np.float32, "F64": np.float64, "I64": np.int64, "I32": np.int32}
NAMES = {np.dtype(v): k for k, v in DTYPES.items()}
MASK = (1 << 64) - 1


def load(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    meta = header.pop("__metadata__", {})
    data = raw[8 + n:]
    out = {}
    for name, h in header.items():
        b, e = h["data_offsets"]
        out[name] = np.frombuffer(data[b:e], dtype=DTYPES[h["dtype"]]).reshape(h["shape"])
    return out, meta


def save(path, tensors):
    header, blobs, off = {}, [], 0
    for name, t in tensors.items():
        t = np.ascontiguousarray(t)
        b = t.tobytes()
        header[name] = {"dtype": NAMES[t.dtype], "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


# ---- the protocol ----

def splitmix64(z):
    z = (z + 0x9E3779B97F4A7C15) & MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return z ^ (z >> 31)


def cuhk03_pick(seed, draw, query, pid, n):
    """The image kept for person `pid`: a hash of (seed, draw, query, pid), as ptl defines it."""
    h = splitmix64(pid & MASK)
    h = splitmix64(h ^ (query & MASK))
    h = splitmix64(h ^ (draw & MASK))
    h = splitmix64(h ^ (seed & MASK))
    return h % n


def evaluate(distmat, qp, qc, gp, gc, max_rank, cuhk03, draws, seed):
    Q, G = distmat.shape
    K = min(max_rank, G)
    hits = np.zeros(K, np.int64)
    ap = np.full(Q, np.nan)
    inp = []
    for i in range(Q):
        order = np.argsort(distmat[i], kind="stable")                  # step 2
        junk = (gp[order] == qp[i]) & (gc[order] == qc[i]) & (qc[i] >= 0)  # step 3; -1 = unknown camera
        ranked = order[~junk]
        match = gp[ranked] == qp[i]                                     # step 4
        if not match.any():
            continue
        pos = np.flatnonzero(match)                                     # 0-based ranks of matches
        R = len(pos)
        ap[i] = np.sum(np.arange(1, R + 1) / (pos + 1)) / R             # step 6
        inp.append(R / (pos[-1] + 1))                                   # step 7
        if not cuhk03:
            hits[pos[0]:] += 1                                          # step 5
            continue
        groups = {}
        for r, pid in enumerate(gp[ranked]):
            groups.setdefault(int(pid), []).append(r)
        for d in range(draws):
            kept = sorted(g[cuhk03_pick(seed, d, i, pid, len(g))] for pid, g in groups.items())
            mine = groups[int(qp[i])][cuhk03_pick(seed, d, i, int(qp[i]), len(groups[int(qp[i])]))]
            hits[kept.index(mine):] += 1
    valid = ~np.isnan(ap)
    nv = int(valid.sum())
    if nv == 0:  # ptl refuses such an input; report it
        return np.zeros(K), ap, np.array([np.nan, np.nan, 0.0])
    cmc = hits / float(nv * (draws if cuhk03 else 1))
    return cmc, ap, np.array([ap[valid].mean(), np.mean(inp), nv], np.float64)


# ---- re-ranking ----

def rerank(qg, qq, gg, k1, k2, lam):
    Q, G = qg.shape
    N = Q + G
    M = np.block([[qq, qg], [qg.T, gg]]).astype(np.float32)
    M = M * M
    S = (M / M.max(axis=0)).T                     # column i scaled by its max, as row i
    rank = np.argsort(S, axis=1, kind="stable")   # ties in index order (the reference leaves them open)

    def reciprocal(i, k):
        return [f for f in rank[i, :k + 1] if i in rank[f, :k + 1]]

    half = int(np.around(k1 / 2.0))
    V = np.zeros((N, N), np.float32)
    for i in range(N):
        r = reciprocal(i, k1)
        expanded = list(r)
        for c in r:
            rc = reciprocal(c, half)
            if len(set(rc) & set(r)) > 2.0 / 3 * len(rc):
                expanded += rc
        ex = np.unique(np.array(expanded, np.int64))
        w = np.exp(-S[i, ex])
        V[i, ex] = w / w.sum()
    if k2 != 1:
        V = np.stack([V[rank[i, :k2]].mean(axis=0) for i in range(N)])
    Vq, Vg = V[:Q].astype(np.float64), V[Q:].astype(np.float64)
    shared = np.array([np.minimum(Vq[i][None, :], Vg).sum(axis=1) for i in range(Q)]).reshape(Q, G)
    jaccard = 1 - shared / (2 - shared)
    return jaccard * (1 - lam) + S[:Q, Q:].astype(np.float64) * lam


# ---- distances ----

def distance(a, b, metric):
    a, b = a.astype(np.float64), b.astype(np.float64)
    if metric == "cosine":
        a = a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)
        b = b / np.maximum(np.linalg.norm(b, axis=1, keepdims=True), 1e-12)
        return 1 - a @ b.T
    d2 = np.maximum((a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2 * a @ b.T, 0)
    return np.sqrt(d2) if metric == "euclidean" else d2


def main():
    tensors, meta = load(sys.argv[1])
    out = {}
    for c in range(int(meta["cases"])):
        p = "c%d." % c
        t = {k[len(p):]: v for k, v in tensors.items() if k.startswith(p)}
        m = {k[len(p):]: v for k, v in meta.items() if k.startswith(p)}
        if m["task"] == "eval":
            cmc, ap, summary = evaluate(t["distmat"], t["query_pids"], t["query_camids"], t["gallery_pids"],
                                        t["gallery_camids"], int(m["max_rank"]), m["cuhk03"] == "1",
                                        int(m["draws"]), int(m["seed"]))
            out[p + "cmc"], out[p + "ap"], out[p + "summary"] = cmc, ap, summary
        elif m["task"] == "rerank":
            out[p + "rerank"] = rerank(t["qg"], t["qq"], t["gg"], int(m["k1"]), int(m["k2"]), float(m["lambda"]))
        elif m["task"] == "distance":
            out[p + "dist"] = distance(t["a"], t["b"], m["metric"])
        else:
            raise SystemExit("unknown task " + m["task"])
    save(sys.argv[2], out)


if __name__ == "__main__":
    main()
