#!/usr/bin/env bash
# ptl vs PyTorch 1.13 on whole CPU workloads (issue #8): ResNet-50 training steps, PTL-ResNet50
# and MGN-PTL training steps, ResNet-50 inference, and the BConv-Cell forward+backward at the
# side branch's shapes (MGN-PTL at 384x128). Prints one table: median ms of each side, the ratio
# ptl / PyTorch, GFLOP/s and % of the machine's peak, and each side's peak resident memory.
#
# Every workload runs in its own process on each side (`ptl bench` and
# scripts/bench_cpu_torch.py), under /usr/bin/time for the peak RSS. Rounds alternate: for each
# round, each case runs ptl then PyTorch, so a burst of load hits both sides alike. A side's figure
# is the median over the rounds of its per-process median (WARMUP warm-up steps, then REPEAT
# timed ones). FLOPs are counted on the PyTorch model (conv + linear layers, see
# bench_cpu_torch.py) and used for both sides (the models are the same).
#
# Usage: scripts/bench_cpu.sh [BUILD_DIR]      (default: build)
# Environment: THREADS=2, REPS=3 (rounds), REPEAT=3, WARMUP=1, FILTER=regex over the case names
#              (e.g. 'train resnet50|cell'), PEAK=GFLOP/s (default: scripts/machine_peak.sh at
#              THREADS threads, the float32 FMA peak measured now on the CPU path ptl uses:
#              PTL_CPU_ISA=avx2 forces that path on both ptl and the peak), PYTHON=/usr/bin/python3,
#              BASE=path of an older ptl binary to time in the same rounds (adds a "before" column),
#              KEEP=dir to keep the raw outputs there.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
build="${1:-build}"
ptl="$build/ptl"
[ -x "$ptl" ] || { echo "bench_cpu.sh: $ptl not found; build the ptl target first" >&2; exit 1; }
THREADS="${THREADS:-2}"
REPS="${REPS:-3}"
REPEAT="${REPEAT:-3}"
WARMUP="${WARMUP:-1}"
FILTER="${FILTER:-.}"
PYTHON="${PYTHON:-/usr/bin/python3}"
PEAK="${PEAK:-$("$here/machine_peak.sh" "$build" "$THREADS")}"
BASE="${BASE:-}"

# kind what batch input; the cells are MGN-PTL's side branch at 3x384x128 (docs/method.md).
CASES=(
  "train resnet50 16 3x128x64"
  "train resnet50 16 3x256x128"
  "infer resnet50 16 3x128x64"
  "infer resnet50 16 3x256x128"
  "train ptl_resnet50 16 3x384x128"
  "train mgn_ptl 16 3x384x128"
  "cell 16:2 16 3x384x128"
  "cell 32:2 16 16x192x64"
  "cell 64:1 16 64x96x32"
  "cell 256:2 16 128x96x32"
  "cell 512:2 16 256x48x16"
  "cell 128:2 16 512x24x8"
  "cell 128:1 16 512x24x8"
)

if [ -n "${KEEP:-}" ]; then
  tmp="$KEEP"; mkdir -p "$tmp"
else
  tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
fi
echo "ptl: $ptl ($("$ptl" --version | sed -n 's/^CPU path: //p')); PyTorch $("$PYTHON" -c 'import torch; print(torch.__version__)'); threads $THREADS;" \
  "$REPS rounds x ($WARMUP warm-up + $REPEAT timed steps); peak $PEAK GFLOP/s; load at start: $(uptime | sed 's/.*load average: //')" >&2
for round in $(seq "$REPS"); do
  i=0
  for c in "${CASES[@]}"; do
    i=$((i + 1))
    echo "$c" | grep -Eq -- "$FILTER" || continue
    read -r kind what batch input <<<"$c"
    echo "round $round/$REPS: $c" >&2
    case "$kind" in
      train) args=(--model "$what" --train-step) ;;
      infer) args=(--model "$what" --inference) ;;
      cell) args=(--cell "$what" --train-step) ;;
    esac
    /usr/bin/time -f %M -o "$tmp/ptl.$i.$round.rss" "$ptl" bench "${args[@]}" --batch "$batch" --input "$input" \
      --threads "$THREADS" --repeat "$REPEAT" --warmup "$WARMUP" >"$tmp/ptl.$i.$round.out"
    if [ -n "$BASE" ]; then
      /usr/bin/time -f %M -o "$tmp/base.$i.$round.rss" "$BASE" bench "${args[@]}" --batch "$batch" --input "$input" \
        --threads "$THREADS" --repeat "$REPEAT" --warmup "$WARMUP" >"$tmp/base.$i.$round.out"
    fi
    /usr/bin/time -f %M -o "$tmp/torch.$i.$round.rss" "$PYTHON" "$here/bench_cpu_torch.py" "$kind" "$what" "$batch" \
      "$input" --threads "$THREADS" --repeat "$REPEAT" --warmup "$WARMUP" >"$tmp/torch.$i.$round.out"
    echo "$c" >"$tmp/case.$i"
  done
done
echo "load at end: $(uptime | sed 's/.*load average: //')" >&2

"$PYTHON" - "$tmp" "$REPS" "$PEAK" <<'PYEOF'
import glob, json, os, re, statistics, sys
tmp, rounds, peak = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
def last_line(path):
    return open(path).read().strip().splitlines()[-1]
has_base = bool(glob.glob(f"{tmp}/base.*.out"))
head = ["case"] + (["ptl before ms"] if has_base else []) + ["ptl ms", "PyTorch ms", "ptl / PyTorch", "GFLOP",
        f"ptl GFLOP/s (% of {peak:g})", "PyTorch GFLOP/s"] + (["ptl before RSS MB"] if has_base else []) + \
       ["ptl peak RSS MB", "PyTorch peak RSS MB"]
print("| " + " | ".join(head) + " |")
print("|---" + "|---:" * (len(head) - 1) + "|")
def ms_of(path):
    return float(re.search(r"median_ms: ([0-9.]+)", open(path).read()).group(1))
for path in sorted(glob.glob(f"{tmp}/case.*"), key=lambda p: int(p.rsplit(".", 1)[1])):
    i = path.rsplit(".", 1)[1]
    case = open(path).read().strip()
    p_ms, b_ms, t_ms, p_rss, b_rss, t_rss, gflop = [], [], [], [], [], [], None
    for r in range(1, rounds + 1):
        if not os.path.exists(f"{tmp}/torch.{i}.{r}.out"):
            continue
        p_ms.append(ms_of(f"{tmp}/ptl.{i}.{r}.out"))
        t = json.loads(last_line(f"{tmp}/torch.{i}.{r}.out"))
        t_ms.append(t["median_ms"]); gflop = t["gflop"]
        p_rss.append(int(last_line(f"{tmp}/ptl.{i}.{r}.rss")) / 1024)
        t_rss.append(int(last_line(f"{tmp}/torch.{i}.{r}.rss")) / 1024)
        if has_base:
            b_ms.append(ms_of(f"{tmp}/base.{i}.{r}.out"))
            b_rss.append(int(last_line(f"{tmp}/base.{i}.{r}.rss")) / 1024)
    pm, tm = statistics.median(p_ms), statistics.median(t_ms)
    pg, tg = gflop / pm * 1e3, gflop / tm * 1e3
    row = [case] + ([f"{statistics.median(b_ms):.1f}"] if has_base else []) + [f"{pm:.1f}", f"{tm:.1f}", f"{pm / tm:.2f}",
           f"{gflop:.1f}", f"{pg:.1f} ({100 * pg / peak:.0f}%)", f"{tg:.1f}"] + \
          ([f"{max(b_rss):.0f}"] if has_base else []) + [f"{max(p_rss):.0f}", f"{max(t_rss):.0f}"]
    print("| " + " | ".join(row) + " |")
PYEOF
