#!/usr/bin/env bash
# ptl vs PyTorch on whole CPU workloads (issues #8, #30): ResNet-50 training steps, PTL-ResNet50
# and MGN-PTL training steps, ResNet-50 inference, and the BConv-Cell forward+backward at the
# side branch's shapes (MGN-PTL at 384x128). Prints one table: median ms of ptl (in each of
# PRECISIONS, `ptl bench --precision`) and of each PyTorch side (a version and a precision: float32, or bf16 autocast, the one
# `with torch.autocast('cpu', dtype=torch.bfloat16)` a user adds), the ratio ptl / each side,
# each side's GFLOP/s (ptl's as % of the machine's float32 peak), and each side's peak resident
# memory.
#
# Every workload runs in its own process on each side (`ptl bench` and
# scripts/bench_cpu_torch.py), under /usr/bin/time for the peak RSS. Rounds alternate: for each
# round, each case runs ptl then every PyTorch side, so a burst of load hits all sides alike. A
# side's figure is the median over the rounds of its per-process median (WARMUP warm-up steps,
# then REPEAT timed ones). FLOPs are counted on the PyTorch model (conv + linear layers, see
# bench_cpu_torch.py) and used for every side (the models are the same).
#
# Usage: scripts/bench_cpu.sh [BUILD_DIR]      (default: build)
# Environment: THREADS=2, REPS=3 (rounds), REPEAT=3, WARMUP=1, FILTER=regex over the case names
#              (e.g. 'train resnet50|cell'), PEAK=GFLOP/s (default: scripts/machine_peak.sh at
#              THREADS threads, the float32 FMA peak measured now on the CPU path ptl uses:
#              PTL_CPU_ISA=avx2 forces that path on both ptl and the peak),
#              PYTHON=interpreter of the PyTorch side (default: scripts/bench-env.sh's PyTorch
#              2.15 when made, else Debian's 1.13: scripts/bench_python.sh),
#              PYTHONS="P1 P2" several PyTorch sides (e.g. "$PYTHON /usr/bin/python3": 2.15 beside
#              Debian's 1.13), PRECISIONS="float32 bf16" (default float32): ptl runs in each
#              (`--precision`), and so does every PyTorch side (bf16 = autocast),
#              COMPILE=1 adds, for every PyTorch 2.x side, the same side under torch.compile
#              (its warm-up steps compile: keep WARMUP >= 1),
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
source "$here/bench_python.sh"
read -r -a PYTHONS <<<"${PYTHONS:-$PYTHON}"
read -r -a PRECISIONS <<<"${PRECISIONS:-float32}"
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
# The PyTorch sides: every interpreter in every precision, labelled with the version.
SIDES=()
for py in "${PYTHONS[@]}"; do
  version="$(torch_version "$py")"
  for precision in "${PRECISIONS[@]}"; do
    case "$precision" in
      float32) flag="" label="float32" ;;
      bf16) flag="--amp-bf16" label="bf16 autocast" ;;
      *) echo "bench_cpu.sh: PRECISIONS: unknown precision '$precision' (float32 or bf16)" >&2; exit 1 ;;
    esac
    echo "PyTorch $version $label" >"$tmp/side.${#SIDES[@]}"
    SIDES+=("$py $flag")
    if [ -n "${COMPILE:-}" ] && [ "${version%%.*}" -ge 2 ]; then
      echo "PyTorch $version $label torch.compile" >"$tmp/side.${#SIDES[@]}"
      SIDES+=("$py $flag --compile")
    fi
  done
done
echo "ptl: $ptl ($("$ptl" --version | sed -n 's/^CPU path: //p')), ${PRECISIONS[*]}; PyTorch sides:" \
  "$(cat "$tmp"/side.* | paste -sd ';' -) ($(printf '%s ' "${PYTHONS[@]}")); threads $THREADS;" \
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
    for precision in "${PRECISIONS[@]}"; do
      /usr/bin/time -f %M -o "$tmp/ptl_$precision.$i.$round.rss" "$ptl" bench "${args[@]}" --batch "$batch" \
        --input "$input" --threads "$THREADS" --repeat "$REPEAT" --warmup "$WARMUP" --precision "$precision" \
        >"$tmp/ptl_$precision.$i.$round.out"
    done
    if [ -n "$BASE" ]; then
      /usr/bin/time -f %M -o "$tmp/base.$i.$round.rss" "$BASE" bench "${args[@]}" --batch "$batch" --input "$input" \
        --threads "$THREADS" --repeat "$REPEAT" --warmup "$WARMUP" >"$tmp/base.$i.$round.out"
    fi
    for s in "${!SIDES[@]}"; do
      read -r py flags <<<"${SIDES[$s]}"
      # shellcheck disable=SC2086  # $flags: empty or words without spaces
      /usr/bin/time -f %M -o "$tmp/torch$s.$i.$round.rss" "$py" "$here/bench_cpu_torch.py" "$kind" "$what" \
        "$batch" "$input" --threads "$THREADS" --repeat "$REPEAT" --warmup "$WARMUP" $flags >"$tmp/torch$s.$i.$round.out"
    done
    echo "$c" >"$tmp/case.$i"
  done
done
echo "load at end: $(uptime | sed 's/.*load average: //')" >&2

"${PYTHONS[0]}" - "$tmp" "$REPS" "$PEAK" "${PRECISIONS[@]}" <<'PYEOF'
import glob, json, os, re, statistics, sys
tmp, rounds, peak, mine = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4:]
def last_line(path):
    return open(path).read().strip().splitlines()[-1]
def ms_of(path):
    return float(re.search(r"median_ms: ([0-9.]+)", open(path).read()).group(1))
def rss_of(path):
    return int(last_line(path)) / 1024
sides = [open(p).read().strip() for p in sorted(glob.glob(f"{tmp}/side.*"), key=lambda p: int(p.rsplit(".", 1)[1]))]
has_base = bool(glob.glob(f"{tmp}/base.*.out"))
head = (["case"] + (["ptl before float32 ms"] if has_base else []) + [f"ptl {p} ms" for p in mine] +
        [f"{s} ms" for s in sides] + [f"ptl {p} / {s}" for p in mine for s in sides] +
        ["GFLOP"] + [f"ptl {p} GFLOP/s (% of float32 peak {peak:g})" for p in mine] +
        [f"{s} GFLOP/s" for s in sides] + (["ptl before peak RSS MB"] if has_base else []) +
        [f"ptl {p} peak RSS MB" for p in mine] + [f"{s} peak RSS MB" for s in sides])
print("| " + " | ".join(head) + " |")
print("|---" + "|---:" * (len(head) - 1) + "|")
for path in sorted(glob.glob(f"{tmp}/case.*"), key=lambda p: int(p.rsplit(".", 1)[1])):
    i = path.rsplit(".", 1)[1]
    case = open(path).read().strip()
    done = [r for r in range(1, rounds + 1) if os.path.exists(f"{tmp}/torch{len(sides) - 1}.{i}.{r}.out")]
    p_ms = [statistics.median(ms_of(f"{tmp}/ptl_{p}.{i}.{r}.out") for r in done) for p in mine]
    t = [[json.loads(last_line(f"{tmp}/torch{s}.{i}.{r}.out")) for r in done] for s in range(len(sides))]
    t_ms = [statistics.median(x["median_ms"] for x in side) for side in t]
    gflop = t[0][0]["gflop"]
    pg = [gflop / m * 1e3 for m in p_ms]
    row = [case]
    if has_base:
        row.append(f"{statistics.median(ms_of(f'{tmp}/base.{i}.{r}.out') for r in done):.1f}")
    row += [f"{m:.1f}" for m in p_ms] + [f"{m:.1f}" for m in t_ms]
    row += [f"{pm / m:.2f}" for pm in p_ms for m in t_ms]
    row += [f"{gflop:.1f}"] + [f"{g:.1f} ({100 * g / peak:.0f}%)" for g in pg]
    row += [f"{gflop / m * 1e3:.1f}" for m in t_ms]
    if has_base:
        row.append(f"{max(rss_of(f'{tmp}/base.{i}.{r}.rss') for r in done):.0f}")
    row += [f"{max(rss_of(f'{tmp}/ptl_{p}.{i}.{r}.rss') for r in done):.0f}" for p in mine]
    row += [f"{max(rss_of(f'{tmp}/torch{s}.{i}.{r}.rss') for r in done):.0f}" for s in range(len(sides))]
    print("| " + " | ".join(row) + " |")
PYEOF
