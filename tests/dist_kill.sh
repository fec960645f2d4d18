#!/usr/bin/env bash
# Ctrl-C on `ptl train --nproc 2` (SIGINT to the launcher) stops every rank after the same step:
# rank 0 writes the stop checkpoint, the job exits 130 with the "interrupted" line, and
# --resume auto ends with the bits of an uninterrupted run (best weights and metrics.jsonl).
# A failing rank ends the whole data-parallel job, naming itself: `ptl train --nproc 2` must exit
# non-zero within 30 s when rank 1 is killed with SIGKILL mid-epoch (and leave its newest
# checkpoint whole: a resume from it trains on), when rank 1 throws an error, and when rank 1
# stops answering (the watchdog, dist.timeout_s). Exits 77 (skipped) without mpiexec.
#   usage: tests/dist_kill.sh PTL_BINARY
set -euo pipefail
ptl="$(realpath "$1")"
command -v mpiexec >/dev/null || { echo "dist_kill: skipped, no mpiexec here"; exit 77; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
"$ptl" synth-reid --out data --ids 12 --size 32x16 --seed 3 >/dev/null
args=(model.name=ptl_resnet20 data.format=market1501 data.root=data data.height=32 data.width=16
  data.p=4 data.k=2 data.workers=1 loss.kind=ce_triplet loss.margin=0.3 train.epochs=500
  train.max_iters_per_epoch=3 train.eval_every=0 train.keep_last=2 eval.flip=false train.out=run)
"$ptl" train --nproc 2 "${args[@]}" >job.log 2>&1 &
job=$!
# Wait for a few checkpoints, then kill rank 1 (the second training process) mid-epoch.
for _ in $(seq 300); do
  [ "$(ls run/ckpt_*.safetensors 2>/dev/null | wc -l)" -ge 2 ] && break
  sleep 0.1
done
ranks=($(pgrep -f -- "^$ptl train model.name" | sort -n))  # the two ranks, not mpirun
[ ${#ranks[@]} -ge 2 ] || { echo "dist_kill: did not find 2 training ranks"; cat job.log; exit 1; }
sleep 0.3
kill -9 "${ranks[1]}"
killed=$(date +%s%N)
rc=0
wait "$job" || rc=$?
took_ms=$((($(date +%s%N) - killed) / 1000000))
took="$((took_ms / 1000)).$(printf %03d $((took_ms % 1000)))"
echo "job exit code $rc, $took s after the kill"
[ "$rc" -ne 0 ] || { echo "dist_kill: the job exited 0 after losing a rank"; exit 1; }
[ "$took_ms" -lt 30000 ] || { echo "dist_kill: the job took $took s to end"; exit 1; }
grep -q "rank 1" job.log || { echo "dist_kill: the job's output does not name rank 1"; tail job.log; exit 1; }
# The newest checkpoint is whole: one process resumes from it and trains one more epoch.
newest=$(ls run/ckpt_*.safetensors | sort | tail -1)
epoch=$((10#$(basename "$newest" | sed -E 's/ckpt_e0*([0-9]+)_.*/\1/') + 1))
"$ptl" train "${args[@]}" train.epochs=$epoch --resume auto >resume.log 2>&1 ||
  { echo "dist_kill: resuming from $newest failed"; tail resume.log; exit 1; }
echo "dist_kill: job ended in $took s naming rank 1; $newest resumed"

# A rank that fails (PTL_TEST_FAIL_AT, trainer.cpp) after step 7, the first of epoch 3: the whole
# job ends within 30 s of the failure with EXPECTED in its output. The clock starts when epoch
# 2's checkpoint appears, one step before the failure, so that a slow start (the sanitizer
# build) is not counted.
fails() {
  local how=$1 expected=$2 start="" rc=0 job
  PTL_TEST_FAIL_AT="1:7:$how" "$ptl" train --nproc 2 "${args[@]}" train.out="run_$how" \
    dist.timeout_s=5 >"$how.log" 2>&1 &
  job=$!
  while kill -0 "$job" 2>/dev/null; do
    if compgen -G "run_$how/ckpt_e00002_*" >/dev/null; then start=$(date +%s%N); break; fi
    sleep 0.05
  done
  wait "$job" || rc=$?
  [ -n "$start" ] || { echo "dist_kill: the job ended before epoch 2's checkpoint"; tail "$how.log"; exit 1; }
  took_ms=$((($(date +%s%N) - start) / 1000000))
  echo "rank 1 $how at step 7: job exit code $rc, $((took_ms / 1000)) s after the step before"
  [ "$rc" -ne 0 ] || { echo "dist_kill: the job exited 0"; exit 1; }
  [ "$took_ms" -lt 30000 ] || { echo "dist_kill: the job took $took_ms ms to end"; exit 1; }
  grep -q -- "$expected" "$how.log" ||
    { echo "dist_kill: the output lacks '$expected'"; tail "$how.log"; exit 1; }
}
stop_args=("${args[@]/train.epochs=500/train.epochs=12}")
"$ptl" train --nproc 2 "${stop_args[@]}" train.out=straight >straight.log 2>&1 ||
  { echo "dist_kill: the uninterrupted run failed"; tail straight.log; exit 1; }
"$ptl" train --nproc 2 "${stop_args[@]}" train.out=stopped >stopped.log 2>&1 &
job=$!
for _ in $(seq 300); do
  compgen -G "stopped/ckpt_e00002_*" >/dev/null && break
  sleep 0.05
done
kill -INT "$job"
rc=0
wait "$job" || rc=$?
[ "$rc" -eq 130 ] || { echo "dist_kill: Ctrl-C: exit code $rc, not 130"; tail stopped.log; exit 1; }
grep -q "stop requested: writing a checkpoint" stopped.log && grep -q "^interrupted at epoch" stopped.log ||
  { echo "dist_kill: Ctrl-C: no stop checkpoint or interrupted line"; tail stopped.log; exit 1; }
[ ! -e stopped/best.safetensors ] || { echo "dist_kill: Ctrl-C: the run finished before the stop"; exit 1; }
"$ptl" train --nproc 2 "${stop_args[@]}" train.out=stopped --resume auto >resumed.log 2>&1 ||
  { echo "dist_kill: resuming the stopped run failed"; tail resumed.log; exit 1; }
cmp straight/best.safetensors stopped/best.safetensors && cmp straight/metrics.jsonl stopped/metrics.jsonl ||
  { echo "dist_kill: the stopped and resumed run differs from the uninterrupted one"; exit 1; }
echo "dist_kill: Ctrl-C stopped both ranks with a checkpoint (exit 130); the resumed run equals the uninterrupted one"

fails throw "ptl: rank 1: error: test failure at step 7"
fails hang "ptl: rank 0: waited 5 s in"
echo "dist_kill: a throwing rank and a stuck rank ended the job"
