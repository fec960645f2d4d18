"""The onnx ctest group: `ptl export` checked by real runtimes (docs/deploy.md, "Export to ONNX").

usage: check_onnx.py PTL_BINARY SOURCE_DIR WORK_DIR

1. Every model `ptl info` lists, random weights (`ptl forward`'s seeded initialisation), its
   usual input, dynamic batch: onnx.checker.check_model (full check) passes, and ONNX Runtime's
   output on a batch of 2 random images agrees with `ptl forward` (BConv-Cells at a zero state)
   to a relative error of 1e-5: max |ort - ptl| / max |ptl|. Both compute in float32 with
   different summation orders; ResNet-50's logits differ by about 2e-6 of their range.
2. OpenCV's DNN module runs the ResNet-50 export and agrees with `ptl forward` alike.
3. The fine-tuned PTL model of a shortened `ptl demo` (16 identities, 1 pre-training and 1
   fine-tuning epoch; the full demo takes minutes), exported from its run's config: ONNX Runtime
   agrees with `ptl forward --last-stride 1` (feature, and with --normalize the normalised
   feature); and the Python example of docs/deploy.md, run on the demo's query and gallery
   images, scores within 0.1 mAP of `ptl extract` + `ptl evaluate` with flip averaging (ptl's
   own evaluation draws the cells' N(0, 0.001^2) states, the export uses zero).
Where ONNX Runtime, python3-onnx or python3-opencv is missing, that part is left out, one line
says so, and the script exits 77 (ctest: skipped) unless a check failed.
"""
import json
import os
import re
import subprocess
import sys

import numpy as np

PTL, SOURCE, WORK = sys.argv[1:4]
sys.path.insert(0, os.path.join(SOURCE, "tests", "reference"))
import reid_eval_ref as st  # noqa: E402  (its safetensors load and save, NumPy only)

REL_TOL = 1e-5
MAP_TOL = 0.1

missing = []
try:
    import onnx
    import onnx.checker
except ImportError:
    onnx = None
    missing.append("python3-onnx (onnx.checker)")
try:
    import onnxruntime as ort
except ImportError:
    ort = None
    missing.append("onnxruntime (bash scripts/onnx-env.sh)")
try:
    import cv2
except ImportError:
    cv2 = None
    missing.append("python3-opencv")
failures = []


def ptl(*args):
    r = subprocess.run([PTL, *args], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"ptl {' '.join(args)} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
    return r.stdout


def path(name):
    return os.path.join(WORK, name)


def rel_err(got, ref):
    if got.shape != ref.shape or not np.isfinite(got).all():
        return float("inf")
    return float(np.abs(got - ref).max() / np.abs(ref).max())


def check(label, err, tol):
    ok = err <= tol
    print(f"  {label}: relative error {err:.2e} ({'ok' if ok else 'FAILED'}, bound {tol:g})")
    if not ok:
        failures.append(label)


def ort_run(model, x):
    so = ort.SessionOptions()
    so.intra_op_num_threads = 2
    s = ort.InferenceSession(model, so, providers=["CPUExecutionProvider"])
    return s.run(None, {"input": x})[0]


def forward(args, x, key):
    """`ptl forward` on x with zero cell states: its output `key`."""
    st.save(path("x.safetensors"), {"input": x})
    ptl("forward", *args, "--input", path("x.safetensors"), "--output", path("y.safetensors"),
        "--bconv-init", "zeros")
    return st.load(path("y.safetensors"))[0][key]


def check_export(label, onnx_file, x, ref):
    if onnx:
        onnx.checker.check_model(onnx.load(onnx_file), full_check=True)
        print(f"  {label}: onnx.checker passes")
    if ort:
        check(f"{label}: ONNX Runtime vs ptl forward", rel_err(ort_run(onnx_file, x), ref),
              REL_TOL)


def models():
    """(name, (C, H, W)) of every row of `ptl info`'s table."""
    rows = re.findall(r"^(\w+)\s+(\d+)x(\d+)x(\d+)\s+\d+$", ptl("info"), re.M)
    assert len(rows) >= 12, rows
    return [(n, tuple(int(v) for v in s)) for n, *s in rows]


def random_weights():
    rng = np.random.RandomState(0)
    for name, (c, h, w) in models():
        print(f"{name}, random weights, input 2x{c}x{h}x{w}")
        out = path(name + ".onnx")
        ptl("export", "--model", name, "--out", out)
        x = rng.randn(2, c, h, w).astype(np.float32)
        ref = forward(["--model", name], x, "output")
        check_export(name, out, x, ref)
        if name == "resnet50" and cv2:
            net = cv2.dnn.readNetFromONNX(out)
            net.setInput(x)
            check("resnet50: OpenCV DNN vs ptl forward", rel_err(net.forward(), ref), REL_TOL)
        os.remove(out)


def doc_example():
    """The code block after the onnx-example marker of docs/deploy.md, as a script."""
    text = open(os.path.join(SOURCE, "docs", "deploy.md")).read()
    m = re.search(r"<!-- onnx-example[^\n]*-->\n```python\n(.*?)```", text, re.S)
    assert m, "docs/deploy.md: no onnx-example block"
    with open(path("embed_onnx.py"), "w") as f:
        f.write(m.group(1))
    return path("embed_onnx.py")


def lossless_copy(src, dst):
    """The dataset `src` with every image re-saved as PNG under its own name: ptl (stb_image)
    and Pillow (libjpeg) decode a JPEG a level apart here and there, which moves this small
    test set's mAP by more than the export does; a PNG both decode alike."""
    from PIL import Image
    for folder, _, files in os.walk(src):
        out = os.path.join(dst, os.path.relpath(folder, src))
        os.makedirs(out, exist_ok=True)
        for f in files:
            Image.open(os.path.join(folder, f)).save(os.path.join(out, f), format="PNG")
    return dst


def evaluate_map(features):
    m = re.search(r"^mAP: ([0-9.]+)%", ptl("evaluate", "--features", features), re.M)
    return float(m.group(1))


def trained_weights():
    demo = path("demo")
    print("shortened ptl demo (16 identities, 1 + 1 epochs) for the fine-tuned PTL model")
    ptl("demo", "--ids", "16", "--pretrain-epochs", "1", "--finetune-epochs", "1", "--out", demo)
    run = os.path.join(demo, "finetune_carry")
    cfg, weights = os.path.join(run, "config.yaml"), os.path.join(run, "best.safetensors")
    exported = {}
    for norm in ([], ["--normalize"]):
        exported[bool(norm)] = path(f"trained{'_norm' if norm else ''}.onnx")
        ptl("export", "--config", cfg, "--weights", weights, "--out", exported[bool(norm)], *norm)
    meta = {}
    if onnx:
        meta = {p.key: p.value for p in onnx.load(exported[False]).metadata_props}
        c, h, w = (int(v) for v in meta["input"].split("x"))
        x = np.random.RandomState(1).randn(2, c, h, w).astype(np.float32)
        args = ["--model", meta["model"], "--weights", weights, "--num-classes",
                meta["num_classes"], "--last-stride", "1"]
        ref = forward(args, x, "out.feature")
        print(f"{meta['model']}, the demo's fine-tuned weights, input 2x{c}x{h}x{w}")
        check_export("trained", exported[False], x, ref)
        norm_ref = ref / np.maximum(np.linalg.norm(ref, axis=1, keepdims=True), 1e-12)
        check_export("trained, --normalize", exported[True], x, norm_ref)
    if not ort:
        return
    ptl_feats = path("ptl_features.safetensors")
    root = lossless_copy(os.path.join(demo, "data", "target"), path("target_png"))
    ptl("extract", "--config", cfg, "--weights", weights, "--out", ptl_feats, "eval.flip=true",
        "data.root=" + root)
    tensors, metadata = st.load(ptl_feats)
    query, gallery = json.loads(metadata["query_paths"]), json.loads(metadata["gallery_paths"])
    r = subprocess.run([sys.executable, doc_example(), exported[False], path("ort.npy"),
                        *query, *gallery], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"docs/deploy.md's example failed:\n{r.stdout}\n{r.stderr}")
    feats = np.load(path("ort.npy"))
    ort_feats = dict(tensors, query_features=feats[:len(query)],
                     gallery_features=feats[len(query):])
    st.save(path("ort_features.safetensors"), ort_feats)
    diff = max(np.abs(ort_feats[k] - tensors[k]).max() for k in
               ("query_features", "gallery_features"))
    map_ptl, map_ort = evaluate_map(ptl_feats), evaluate_map(path("ort_features.safetensors"))
    ok = abs(map_ptl - map_ort) <= MAP_TOL
    print(f"  docs/deploy.md's example on {len(query)} query and {len(gallery)} gallery images: "
          f"mAP {map_ort:.2f}% vs ptl's {map_ptl:.2f}% ({'ok' if ok else 'FAILED'}, bound "
          f"{MAP_TOL}); largest feature difference {diff:.2e}")
    if not ok:
        failures.append("mAP of the example")


os.makedirs(WORK, exist_ok=True)
random_weights()
trained_weights()
if failures:
    sys.exit("onnx: FAILED: " + "; ".join(failures))
if missing:
    print("onnx: skipped: " + ", ".join(missing) + " not installed for " + sys.executable +
          "; the checks that need it did not run")
    sys.exit(77)
print("onnx: every check passed")
