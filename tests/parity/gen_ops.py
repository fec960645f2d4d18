"""PyTorch reference fixtures for every engine op (tests/test_parity_ops.cpp reads them).

Usage: /usr/bin/python3 gen_ops.py OUTDIR   (Debian's python3-torch 1.13, CPU)

One safetensors file per case, OUTDIR/ops/<case>.safetensors (a folder of its own: the test
runs every file in it, and other gen_*.py scripts write beside it), holding:
  in.<name>        inputs as stored (float32, or int64 for indices/targets); for a case with a
                   "view.<name>" entry this is the contiguous base and the op gets the view
  out[.<k>]        forward outputs (".<k>" for ops with several: chunk parts, max values/indices,
                   batch-norm running statistics after the update)
  grad_out[.<k>]   the random gradient fed to backward for each differentiable output
  grad.<name>      gradient of every float input that takes one (w.r.t. the base for views)
and in __metadata__ (strings): "op", "case", the op's parameters, and "view.<name>" as
"transpose:d0:d1" or "narrow:dim:start:length" for inputs passed as non-contiguous views.
Inputs are kept away from kinks (relu/abs at 0, clamp bounds, log/sqrt near 0, max ties).
"""
import os
import sys
import zlib

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import st  # noqa: E402

OUT = os.path.join(sys.argv[1], "ops")
os.makedirs(OUT, exist_ok=True)
CASES = []


def fmt(v):
    """Metadata value as a string: ints/floats as text, lists comma-separated, bools 1/0."""
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, (list, tuple)):
        return ",".join(fmt(x) for x in v)
    return repr(v) if isinstance(v, float) else str(v)


def apply_view(t, spec):
    kind, *a = spec
    if kind == "transpose":
        return t.transpose(a[0], a[1])
    if kind == "narrow":
        return t.narrow(a[0], a[1], a[2])
    raise ValueError(spec)


def case(name, op, inputs, fn, params=None, views=None, nograd=()):
    """Runs fn(*inputs.values()) under autograd and writes the fixture.

    inputs: name -> tensor (float inputs take gradients unless listed in nograd);
    fn returns a tensor ("out") or a dict suffix -> tensor ("out.<suffix>"; suffix "" is "out").
    """
    params, views = params or {}, views or {}
    assert name not in CASES, name
    CASES.append(name)
    torch.manual_seed(zlib.crc32(name.encode()))  # grad_out independent of case order
    leaves = {k: v.detach().clone().requires_grad_(v.is_floating_point() and k not in nograd)
              for k, v in inputs.items()}
    tensors = {f"in.{k}": v.detach().clone() for k, v in leaves.items()}  # before in-place updates
    args = {k: apply_view(v, views[k]) if k in views else v for k, v in leaves.items()}
    res = fn(*args.values())  # positional, in the order of `inputs`
    if torch.is_tensor(res):
        res = {"": res}
    outs = {f"out.{k}" if k else "out": v for k, v in res.items()}
    diff_outs, grads = [], []
    for k, v in outs.items():
        tensors[k] = v.detach().clone()
        if v.requires_grad:
            g = torch.randn(v.shape)
            tensors["grad_" + k] = g
            diff_outs.append(v)
            grads.append(g)
    torch.autograd.backward(diff_outs, grads)
    for k, v in leaves.items():
        if v.requires_grad:
            tensors[f"grad.{k}"] = v.grad if v.grad is not None else torch.zeros_like(v)
    meta = {"op": op, "case": name, **{k: fmt(v) for k, v in params.items()}}
    meta.update({f"view.{k}": ":".join(map(str, spec)) for k, spec in views.items()})
    st.save(os.path.join(OUT, name + ".safetensors"), tensors, meta)


# ---- input makers (float32), all seeded ----
def randn(*shape):
    return torch.randn(shape)


def away_from_zero(*shape, gap=0.1):
    """N(0,1) values pushed out of (-gap, gap): no relu/abs kink within finite-difference reach."""
    x = torch.randn(shape)
    return x + gap * torch.sign(x)


def positive(*shape, lo=0.5, hi=2.5):
    return lo + (hi - lo) * torch.rand(shape)


def away_from(x, points, gap=0.05):
    """Moves values within `gap` of any of `points` to `gap` beyond it (clamp bounds)."""
    for p in points:
        near = (x - p).abs() < gap
        x = torch.where(near, p + gap * torch.where(x >= p, 1.0, -1.0), x)
    return x


torch.manual_seed(0)

# ---- element-wise binary ops, broadcasting patterns ----
BROADCAST = [  # (suffix, shape of a, shape of b, views)
    ("same", (3, 4), (3, 4), {}),
    ("per_channel", (2, 3, 4, 5), (3, 1, 1), {}),
    ("per_row", (4, 6), (4, 1), {}),
    ("row_vector", (4, 6), (6,), {}),
    ("zero_d", (3, 5), (), {}),
    ("both_sides", (4, 1), (1, 5), {}),
    ("left_smaller", (1, 3, 1), (2, 3, 4), {}),
    ("noncontig", (5, 3), (3, 5), {"a": ("transpose", 0, 1)}),
]
for op, fn in [("add", torch.add), ("sub", torch.sub), ("mul", torch.mul), ("div", torch.div)]:
    for suffix, sa, sb, views in BROADCAST:
        b = away_from_zero(*sb, gap=0.5) if op == "div" else randn(*sb)
        case(f"{op}_{suffix}", op, {"a": randn(*sa), "b": b}, fn, views=views)

# ---- element-wise unary ops ----
case("add_scalar", "add_scalar", {"x": randn(3, 4)}, lambda x: x + 1.5, {"s": 1.5})
case("add_scalar_neg", "add_scalar", {"x": randn(2, 3, 4)}, lambda x: x + -0.25, {"s": -0.25})
case("mul_scalar", "mul_scalar", {"x": randn(3, 4)}, lambda x: x * 2.5, {"s": 2.5})
case("mul_scalar_noncontig", "mul_scalar", {"x": randn(4, 3)}, lambda x: x * -0.5, {"s": -0.5},
     views={"x": ("transpose", 0, 1)})
case("neg", "neg", {"x": randn(3, 4)}, torch.neg)
case("neg_noncontig", "neg", {"x": randn(3, 6)}, torch.neg, views={"x": ("narrow", 1, 1, 4)})
for e, x in [(2.0, randn(3, 4)), (3.0, randn(3, 4)), (0.5, positive(3, 4)), (-1.5, positive(3, 4))]:
    case(f"pow_{e:g}".replace(".", "p").replace("-", "m"), "pow", {"x": x},
         lambda x, e=e: torch.pow(x, e), {"exponent": e})
for op, fn, make in [("relu", torch.relu, away_from_zero), ("sigmoid", torch.sigmoid, randn),
                     ("tanh", torch.tanh, randn), ("exp", torch.exp, randn),
                     ("log", torch.log, positive), ("sqrt", torch.sqrt, positive),
                     ("abs", torch.abs, away_from_zero)]:
    case(op, op, {"x": make(3, 5)}, fn)
    case(f"{op}_4d", op, {"x": make(2, 3, 4, 2)}, fn)
    case(f"{op}_noncontig", op, {"x": make(5, 3)}, fn, views={"x": ("transpose", 0, 1)})
for lo, hi in [(-0.5, 0.5), (0.0, 6.0), (-1.0, 1.0)]:
    x = away_from(2 * randn(4, 5), [lo, hi])
    case(f"clamp_{lo:g}_{hi:g}".replace(".", "p").replace("-", "m"), "clamp", {"x": x},
         lambda x, lo=lo, hi=hi: torch.clamp(x, lo, hi), {"lo": lo, "hi": hi})

# ---- reductions ----
for op, fn in [("sum", torch.sum), ("mean", torch.mean)]:
    for suffix, shape, dims, keep, views in [
        ("dim1", (3, 4, 5), [1], False, {}),
        ("dims02_keep", (3, 4, 5), [0, 2], True, {}),
        ("neg_dim", (3, 4, 5), [-1], False, {}),
        ("adjacent_4d", (2, 3, 4, 5), [2, 3], True, {}),
        ("noncontig", (4, 6), [0], False, {"x": ("transpose", 0, 1)}),
    ]:
        case(f"{op}_{suffix}", op, {"x": randn(*shape)},
             lambda x, fn=fn, dims=dims, keep=keep: fn(x, dims, keepdim=keep),
             {"dims": dims, "keepdim": keep}, views)
    case(f"{op}_all", f"{op}_all", {"x": randn(3, 4, 5)}, fn)
for op, fn in [("max", torch.max), ("min", torch.min)]:
    for suffix, shape, dim, keep, views in [
        ("dim1", (3, 5), 1, False, {}),
        ("neg_dim_keep", (2, 3, 4), -1, True, {}),
        ("dim1_3d", (2, 5, 3), 1, False, {}),
        ("noncontig", (4, 6), 0, False, {"x": ("transpose", 0, 1)}),
    ]:
        def run(x, fn=fn, dim=dim, keep=keep):
            r = fn(x, dim, keepdim=keep)
            return {"values": r.values, "indices": r.indices}
        case(f"{op}_{suffix}", f"{op}_dim", {"x": randn(*shape)}, run,
             {"dim": dim, "keepdim": keep}, views)
    case(f"{op}_all", f"{op}_all", {"x": randn(3, 4, 5)}, fn)

# ---- shape ops ----
case("reshape", "reshape", {"x": randn(2, 3, 4)}, lambda x: x.reshape(6, -1), {"shape": [6, -1]})
case("reshape_noncontig", "reshape", {"x": randn(4, 6)}, lambda x: x.reshape(3, 8),
     {"shape": [3, 8]}, {"x": ("transpose", 0, 1)})
case("flatten", "flatten", {"x": randn(2, 3, 4, 5)}, lambda x: torch.flatten(x, 1),
     {"start": 1, "end": -1})
case("flatten_mid", "flatten", {"x": randn(2, 3, 4, 5)}, lambda x: torch.flatten(x, 0, -2),
     {"start": 0, "end": -2})
case("squeeze", "squeeze", {"x": randn(3, 1, 4)}, lambda x: x.squeeze(1), {"dim": 1})
case("squeeze_neg", "squeeze", {"x": randn(3, 4, 1)}, lambda x: x.squeeze(-1), {"dim": -1})
case("squeeze_not_one", "squeeze", {"x": randn(3, 4)}, lambda x: x.squeeze(0), {"dim": 0})
case("unsqueeze", "unsqueeze", {"x": randn(3, 4)}, lambda x: x.unsqueeze(0), {"dim": 0})
case("unsqueeze_neg", "unsqueeze", {"x": randn(3, 4)}, lambda x: x.unsqueeze(-1), {"dim": -1})
case("permute", "permute", {"x": randn(2, 3, 4, 5)}, lambda x: x.permute(0, 2, 3, 1),
     {"dims": [0, 2, 3, 1]})
case("permute_neg", "permute", {"x": randn(2, 3, 4)}, lambda x: x.permute(-1, 0, 1),
     {"dims": [-1, 0, 1]})
case("transpose", "transpose", {"x": randn(2, 3, 4)}, lambda x: x.transpose(1, -1),
     {"d0": 1, "d1": -1})
case("narrow", "narrow", {"x": randn(3, 6)}, lambda x: x.narrow(1, 1, 3),
     {"dim": 1, "start": 1, "length": 3})
case("narrow_neg_dim", "narrow", {"x": randn(2, 3, 5)}, lambda x: x.narrow(-1, 2, 3),
     {"dim": -1, "start": 2, "length": 3})
for suffix, shape, n, dim in [("uneven", (2, 7), 3, 1), ("dim0", (4, 3), 2, 0),
                              ("neg_dim", (2, 3, 6), 3, -1)]:
    case(f"chunk_{suffix}", "chunk", {"x": randn(*shape)},
         lambda x, n=n, dim=dim: {str(i): p for i, p in enumerate(torch.chunk(x, n, dim))},
         {"chunks": n, "dim": dim})
for suffix, shape, sizes, dim in [("dim1", (3, 6), [2, 3, 1], 1), ("neg_dim", (2, 3, 5), [1, 4], -1)]:
    case(f"split_{suffix}", "split", {"x": randn(*shape)},
         lambda x, sizes=sizes, dim=dim: {str(i): p for i, p in enumerate(torch.split(x, sizes, dim))},
         {"sizes": sizes, "dim": dim})
case("cat_dim1", "cat", {"p0": randn(2, 3), "p1": randn(2, 1), "p2": randn(2, 4)},
     lambda p0, p1, p2: torch.cat([p0, p1, p2], 1), {"dim": 1})
case("cat_dim0", "cat", {"p0": randn(2, 3, 2), "p1": randn(3, 3, 2)},
     lambda p0, p1: torch.cat([p0, p1], 0), {"dim": 0})
case("cat_neg_noncontig", "cat", {"p0": randn(4, 3), "p1": randn(2, 4)},
     lambda p0, p1: torch.cat([p0, p1], -1), {"dim": -1}, {"p1": ("transpose", 0, 1)})
case("flip_horizontal", "flip", {"x": randn(2, 3, 4, 5)}, lambda x: torch.flip(x, [3]), {"dim": 3})
case("flip_dim0", "flip", {"x": randn(3, 4)}, lambda x: torch.flip(x, [0]), {"dim": 0})
case("flip_noncontig", "flip", {"x": randn(4, 3)}, lambda x: torch.flip(x, [-1]), {"dim": -1},
     {"x": ("transpose", 0, 1)})
case("index_select_dim0_repeats", "index_select",
     {"x": randn(5, 3), "index": torch.tensor([4, 0, 4, 2], dtype=torch.int64)},
     lambda x, index: torch.index_select(x, 0, index), {"dim": 0})
case("index_select_dim1", "index_select",
     {"x": randn(2, 6, 3), "index": torch.tensor([5, 1], dtype=torch.int64)},
     lambda x, index: torch.index_select(x, 1, index), {"dim": 1})

# ---- matmul, linear ----
case("matmul_2d", "matmul", {"a": randn(5, 7), "b": randn(7, 3)}, torch.matmul)
case("matmul_3d", "matmul", {"a": randn(2, 4, 6), "b": randn(2, 6, 5)}, torch.matmul)
case("matmul_noncontig", "matmul", {"a": randn(7, 5), "b": randn(7, 6)}, torch.matmul,
     views={"a": ("transpose", 0, 1), "b": ("narrow", 1, 1, 4)})
case("matmul_3d_noncontig", "matmul", {"a": randn(2, 6, 4), "b": randn(2, 6, 5)}, torch.matmul,
     views={"a": ("transpose", 1, 2)})
case("matmul_large_k", "matmul", {"a": randn(8, 300), "b": randn(300, 9)}, torch.matmul)
case("linear_bias", "linear", {"x": randn(4, 6), "w": randn(5, 6), "b": randn(5)}, F.linear)
case("linear_no_bias", "linear", {"x": randn(3, 8), "w": randn(2, 8)}, F.linear)
case("linear_noncontig", "linear", {"x": randn(6, 4), "w": randn(3, 6), "b": randn(3)}, F.linear,
     views={"x": ("transpose", 0, 1)})

# ---- conv2d ----
CONV = [  # (suffix, x shape, w shape, bias, stride, padding, dilation, views)
    ("3x3_pad1_bias", (2, 3, 6, 5), (4, 3, 3, 3), True, (1, 1), (1, 1), (1, 1), {}),
    ("1x1_stride2", (2, 4, 7, 7), (3, 4, 1, 1), False, (2, 2), (0, 0), (1, 1), {}),
    ("7x7_stride2_pad3", (1, 3, 12, 10), (2, 3, 7, 7), True, (2, 2), (3, 3), (1, 1), {}),
    ("dilation2", (2, 2, 9, 8), (3, 2, 3, 3), True, (1, 1), (2, 2), (2, 2), {}),
    ("rect_3x5_stride21", (2, 3, 7, 9), (2, 3, 3, 5), True, (2, 1), (1, 2), (1, 1), {}),
    ("rect_dil_12", (1, 2, 8, 9), (2, 2, 2, 3), False, (1, 2), (0, 1), (1, 2), {}),
    ("wide_16to8", (2, 16, 8, 8), (8, 16, 3, 3), True, (1, 1), (1, 1), (1, 1), {}),
    ("stride2_odd", (2, 2, 9, 7), (3, 2, 3, 3), True, (2, 2), (1, 1), (1, 1), {}),
    ("noncontig", (2, 3, 6, 8), (2, 3, 3, 3), True, (1, 1), (1, 1), (1, 1),
     {"x": ("narrow", 3, 1, 6)}),
]
for suffix, sx, sw, bias, stride, pad, dil, views in CONV:
    inputs = {"x": randn(*sx), "w": randn(*sw) * 0.3}
    if bias:
        inputs["b"] = randn(sw[0])
    case(f"conv2d_{suffix}", "conv2d", inputs,
         lambda x, w, b=None, s=stride, p=pad, d=dil: F.conv2d(x, w, b, s, p, d),
         {"stride": stride, "padding": pad, "dilation": dil}, views)

# ---- batch_norm (momentum 0.1; running_var updated with the unbiased batch variance) ----
def bn_case(name, shape, training, affine=True, views=None):
    """shape: the stored x; a transposed view swaps it, so C is read from the view's shape."""
    c = apply_view(torch.empty(shape), views["x"]).shape[1] if views else shape[1]
    inputs = {"x": randn(*shape) * 2 + 0.5, "running_mean": randn(c) * 0.1,
              "running_var": positive(c, lo=0.5, hi=1.5)}
    if affine:
        inputs.update(w=positive(c), b=randn(c))

    def run(x, running_mean, running_var, w=None, b=None):
        y = F.batch_norm(x, running_mean, running_var, w, b, training, 0.1, 1e-5)
        return {"": y, "running_mean": running_mean, "running_var": running_var}
    case(name, "batch_norm", inputs, run,
         {"training": training, "momentum": 0.1, "eps": 1e-5}, views,
         nograd=("running_mean", "running_var"))


bn_case("batch_norm_train_4d", (4, 3, 5, 4), True)
bn_case("batch_norm_train_2d", (8, 5), True)
bn_case("batch_norm_train_no_affine", (3, 2, 4, 4), True, affine=False)
bn_case("batch_norm_train_noncontig", (5, 4), True, views={"x": ("transpose", 0, 1)})
bn_case("batch_norm_eval_4d", (2, 3, 4, 5), False)
bn_case("batch_norm_eval_2d", (6, 4), False)

# ---- pooling (MGN's 12x4, 24x8, 8x8 kernels included) ----
POOL = [  # (suffix, x shape, kernel, stride, padding, ceil_mode, count_include_pad, views)
    ("2x2", (2, 3, 6, 8), (2, 2), (2, 2), (0, 0), False, True, {}),
    ("3x3_s2_p1", (2, 2, 9, 8), (3, 3), (2, 2), (1, 1), False, True, {}),
    ("3x3_s2_p1_no_pad_count", (2, 2, 9, 8), (3, 3), (2, 2), (1, 1), False, False, {}),
    ("3x3_s2_ceil", (1, 2, 8, 7), (3, 3), (2, 2), (0, 0), True, True, {}),
    ("3x3_s2_p1_ceil", (1, 2, 10, 9), (3, 3), (2, 2), (1, 1), True, False, {}),
    ("3x3_s2_p1_ceil_pad_count", (1, 2, 10, 9), (3, 3), (2, 2), (1, 1), True, True, {}),
    ("rect_3x2_s21", (2, 2, 7, 6), (3, 2), (2, 1), (1, 1), False, True, {}),
    ("mgn_12x4", (2, 3, 24, 8), (12, 4), (12, 4), (0, 0), False, True, {}),
    ("mgn_24x8", (2, 3, 24, 8), (24, 8), (24, 8), (0, 0), False, True, {}),
    ("mgn_8x8", (2, 3, 24, 8), (8, 8), (8, 8), (0, 0), False, True, {}),
    ("mgn_8x8_square", (2, 3, 8, 8), (8, 8), (8, 8), (0, 0), False, True, {}),
    ("overlap_s1", (1, 2, 5, 6), (3, 2), (1, 1), (0, 0), False, True, {}),
    ("noncontig", (2, 3, 6, 9), (2, 2), (2, 2), (0, 0), False, True, {"x": ("narrow", 3, 1, 8)}),
]
for suffix, sx, k, s, p, ceil, cip, views in POOL:
    params = {"kernel": k, "stride": s, "padding": p, "ceil_mode": ceil}
    case(f"max_pool2d_{suffix}", "max_pool2d", {"x": randn(*sx)},
         lambda x, k=k, s=s, p=p, c=ceil: F.max_pool2d(x, k, s, p, ceil_mode=c), params, views)
    case(f"avg_pool2d_{suffix}", "avg_pool2d", {"x": randn(*sx)},
         lambda x, k=k, s=s, p=p, c=ceil, i=cip: F.avg_pool2d(x, k, s, p, c, i),
         {**params, "count_include_pad": cip}, views)
for suffix, sx, o in [("1x1", (2, 3, 6, 5), (1, 1)), ("uneven_3x2", (2, 2, 7, 5), (3, 2)),
                      ("upsample_4x3", (1, 2, 3, 2), (4, 3)), ("mgn_stripes_3x1", (2, 3, 24, 8), (3, 1))]:
    for op, fn in [("adaptive_avg_pool2d", F.adaptive_avg_pool2d),
                   ("adaptive_max_pool2d", F.adaptive_max_pool2d)]:
        case(f"{op}_{suffix}", op, {"x": randn(*sx)}, lambda x, fn=fn, o=o: fn(x, o),
             {"output_size": o})

# ---- softmax family, losses, distances, normalisation ----
for op, fn in [("log_softmax", F.log_softmax), ("softmax", F.softmax)]:
    for suffix, shape, dim, views in [("2d", (4, 10), 1, {}), ("neg_dim", (2, 3, 5), -1, {}),
                                      ("inner_4d", (2, 4, 3, 3), 1, {}),
                                      ("noncontig", (6, 3), 1, {"x": ("transpose", 0, 1)})]:
        case(f"{op}_{suffix}", op, {"x": 3 * randn(*shape)}, lambda x, fn=fn, dim=dim: fn(x, dim),
             {"dim": dim}, views)
for suffix, n, k, eps in [("plain", 8, 10, 0.0), ("smooth", 8, 10, 0.1),
                          ("market_751_smooth", 16, 751, 0.1), ("market_751", 16, 751, 0.0)]:
    case(f"cross_entropy_{suffix}", "cross_entropy",
         {"logits": 2 * randn(n, k), "target": torch.randint(0, k, (n,), dtype=torch.int64)},
         lambda logits, target, eps=eps: F.cross_entropy(logits, target, label_smoothing=eps),
         {"label_smoothing": eps})


def sqdist(x, y):
    """The engine's definition: ||x||^2 + ||y||^2 - 2 x y^T, clamped at 0."""
    d2 = (x * x).sum(1, keepdim=True) + (y * y).sum(1).reshape(1, -1) - 2 * x @ y.t()
    return d2.clamp_min(0)


for suffix, m, n, d in [("6x5_d16", 6, 5, 16), ("4x4_d32", 4, 4, 32)]:
    case(f"pairwise_sqdistance_{suffix}", "pairwise_sqdistance", {"x": randn(m, d), "y": randn(n, d)},
         sqdist)
    case(f"pairwise_distance_{suffix}", "pairwise_distance", {"x": randn(m, d), "y": randn(n, d)},
         lambda x, y: sqdist(x, y).clamp_min(1e-12).sqrt())
for suffix, shape, dim, views in [("dim1", (4, 16), 1, {}), ("neg_dim", (2, 3, 8), -1, {}),
                                  ("dim0", (5, 3), 0, {}),
                                  ("noncontig", (8, 3), 1, {"x": ("transpose", 0, 1)})]:
    case(f"l2_normalize_{suffix}", "l2_normalize", {"x": randn(*shape)},
         lambda x, dim=dim: F.normalize(x, 2.0, dim, 1e-12), {"dim": dim, "eps": 1e-12}, views)

print(f"gen_ops.py: wrote {len(CASES)} cases to {OUT}")
