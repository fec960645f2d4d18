#!/usr/bin/env bash
# `ptl embed` beside `ptl extract` on the same generated images at 256x128 (issue #31's target):
# images/s of each whole command (wall clock: start-up, weights, listing, decoding, the model),
# and embed's own rate over its pass. Both run the same model and weights without flip
# averaging, on the same images: extract's query and gallery splits of a `ptl synth-reid` set
# (junk images left out, as extract does), embed their list.
#
# The weights: MODEL trained for one step on a tiny 64x32 set (the ResNets take any input size;
# the classifiers are not used). Everything lives in a temporary folder removed at exit.
#
# Usage: scripts/bench_embed.sh [BUILD_DIR]      (default: build)
# Environment: IDS=1320 (identities; half are the test split: 1320 gives about 10,000 query and
#              gallery images), MODEL=resnet18, BATCH=32, WORKERS=2, ROUNDS=1 (embed and extract
#              alternate, so a burst of load hits both alike; the last round is printed per round)
set -euo pipefail
build="${1:-build}"
ptl="$(cd "$build" && pwd)/ptl"
[ -x "$ptl" ] || { echo "bench_embed.sh: $ptl not found; build the ptl target first" >&2; exit 1; }
IDS="${IDS:-1320}"
MODEL="${MODEL:-resnet18}"
BATCH="${BATCH:-32}"
WORKERS="${WORKERS:-2}"
ROUNDS="${ROUNDS:-1}"
work="$(mktemp -d /tmp/ptl_bench_embed.XXXXXX)"
trap 'rm -rf "$work"' EXIT

config() {  # config ROOT HEIGHT WIDTH
  printf 'model:\n  name: %s\ndata:\n  format: market1501\n  root: %s\n  height: %s\n  width: %s\n  p: 2\n  k: 2\n  batch_size: %s\n  workers: %s\neval:\n  flip: false\ntrain:\n  epochs: 1\n  max_iters_per_epoch: 1\n  out: %s/run\n' \
    "$MODEL" "$1" "$2" "$3" "$BATCH" "$WORKERS" "$work"
}
"$ptl" synth-reid --out "$work/tiny" --ids 4 --size 64x32 >/dev/null
config "$work/tiny" 64 32 >"$work/tiny.yaml"
"$ptl" train --config "$work/tiny.yaml" >"$work/train.log"
weights="$(ls "$work"/run/ckpt_*.safetensors | head -n 1)"

"$ptl" synth-reid --out "$work/synth" --ids "$IDS" --size 256x128 >/dev/null
config "$work/synth" 256 128 >"$work/bench.yaml"
(ls "$work/synth/query"/*.jpg; ls "$work/synth/bounding_box_test"/*.jpg | grep -v '/-1_') \
  >"$work/images.txt"
images=$(wc -l <"$work/images.txt")
echo "model $MODEL, 256x128, batch $BATCH, $WORKERS loader threads, no flip; $images images"
echo "(query + gallery of ptl synth-reid --ids $IDS); $(nproc) cores, load average $(cut -d' ' -f1 /proc/loadavg)"

now() { date +%s.%N; }
for round in $(seq "$ROUNDS"); do
  t0=$(now)
  "$ptl" embed --config "$work/bench.yaml" --weights "$weights" --images "$work/images.txt" \
    --out "$work/embed.safetensors" >"$work/embed.log"
  t1=$(now)
  "$ptl" extract --config "$work/bench.yaml" --weights "$weights" \
    --out "$work/extract.safetensors" >"$work/extract.log"
  t2=$(now)
  pass=$(grep -o '[0-9.]* images/s' "$work/embed.log" | tail -n 1)
  awk -v r="$round" -v n="$images" -v a="$t0" -v b="$t1" -v c="$t2" -v p="$pass" 'BEGIN {
    printf "round %d: ptl embed %.1f s, %.2f images/s (its pass: %s); ptl extract %.1f s, %.2f images/s\n",
      r, b - a, n / (b - a), p, c - b, n / (c - b) }'
done
tail -n 1 "$work/extract.log"
echo "load average after: $(cut -d' ' -f1 /proc/loadavg)"
