#!/bin/bash
# ReID evaluation speed and memory: `ptl evaluate` on Market-1501-size (3,368 x 15,913) and,
# with --msmt, MSMT17-size (11,659 x 82,161) synthetic 2048-d features, beside the NumPy
# reference (tests/reference/reid_eval_ref.py) in the same run. Debian's NumPy uses the
# reference BLAS, so the reference runs on a 1/16 slice of the queries and its time is scaled
# up linearly in the number of queries (its distance GEMM and per-query loop are both linear
# in Q); the report says so.
#
# usage: scripts/bench_eval.sh [--msmt] [BUILD_DIR (default: build)]
set -euo pipefail
MSMT=0
if [[ "${1:-}" == "--msmt" ]]; then MSMT=1; shift; fi
BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
PY=/usr/bin/python3

gen() {  # gen OUT Q G IDS: identity centres plus noise, queries on camera 0, gallery on 1 and 2
  "$PY" - "$@" <<'PYEOF'
import sys
import os
sys.path.insert(0, os.environ["ROOT"] + "/tests/reference")
import numpy as np, reid_eval_ref as ref
out, Q, G, ids = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
rng = np.random.default_rng(0)
centres = rng.standard_normal((ids, 2048), dtype=np.float32)
def part(n, cams):
    pids = np.arange(n) % ids
    f = centres[pids] + 1.5 * rng.standard_normal((n, 2048), dtype=np.float32)
    return f.astype(np.float32), pids.astype(np.int64), cams(np.arange(n)).astype(np.int64)
qf, qp, qc = part(Q, lambda i: np.zeros_like(i))
gf, gp, gc = part(G, lambda i: 1 + (i // ids) % 2)
ref.save(out, {"query_features": qf, "query_pids": qp, "query_camids": qc,
               "gallery_features": gf, "gallery_pids": gp, "gallery_camids": gc})
PYEOF
}

numpy_ref() {  # numpy_ref FILE SLICE: time the reference on the first Q/SLICE queries
  "$PY" - "$@" <<'PYEOF'
import os, sys, time, resource
sys.path.insert(0, os.environ["ROOT"] + "/tests/reference")
import numpy as np, reid_eval_ref as ref
t, _ = ref.load(sys.argv[1])
Q = t["query_features"].shape[0]
n = max(1, Q // int(sys.argv[2]))
t0 = time.time()
d = ref.distance(t["query_features"][:n], t["gallery_features"], "euclidean").astype(np.float32)
cmc, ap, s = ref.evaluate(d, t["query_pids"][:n], t["query_camids"][:n], t["gallery_pids"],
                          t["gallery_camids"], 50, False, 10, 0)
dt = time.time() - t0
print("numpy reference: %d of %d queries in %.1f s -> %.0f s estimated for all (scaled by %.1f), "
      "peak RSS %.0f MB, mAP on the slice %.2f%%" % (n, Q, dt, dt * Q / n, Q / n,
      resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 100 * s[0]))
PYEOF
}

export ROOT
bench() {  # bench NAME Q G IDS
  echo "== $1: $2 queries x $3 gallery, 2048-d (load average: $(cut -d' ' -f1-3 /proc/loadavg))"
  gen "$TMP/f.safetensors" "$2" "$3" "$4"
  /usr/bin/time -f "ptl evaluate: %e s wall, %U s user, peak RSS %M KB" \
    "$BUILD/ptl" evaluate --features "$TMP/f.safetensors" | grep -E "mAP|Rank-1:|time"
  numpy_ref "$TMP/f.safetensors" 16
  rm -f "$TMP/f.safetensors"
}

bench market1501 3368 15913 751
if [[ $MSMT == 1 ]]; then bench msmt17 11659 82161 3060; fi
