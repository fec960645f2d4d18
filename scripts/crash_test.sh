#!/usr/bin/env bash
# Crash consistency: kills a job with SIGKILL at random moments, KILLS times (default 100), half
# of the lives writing slowly (PTL_TEST_WRITE_DELAY_MS holds each write open halfway) and half of
# those killed as soon as a write has begun, starting the job again after every kill. The job is
# `ptl train --resume auto` (MODE train) or a two-seed, two-arm `ptl study` with its source stage
# (MODE study). Every round that runs to the end must give the uninterrupted job's files byte for
# byte (weights, metrics.jsonl, a study's result.json, study.json and study.png; not the logs,
# configs, checkpoints and curves.png, which name their folder), and a restart must never fail on what a
# kill left behind. PRECISION (float32 or bf16) is the jobs' train.precision.
#   usage: scripts/crash_test.sh PTL_BINARY [KILLS] [SEED] [MODE] [PRECISION]
set -euo pipefail
ptl="$(realpath "$1")"
kills_wanted="${2:-100}"
RANDOM="${3:-1}"
mode="${4:-train}"
precision="${5:-float32}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
export OMP_NUM_THREADS=1 OMP_WAIT_POLICY=passive

"$ptl" synth-reid --out data --ids 8 --size 32x16 --seed 3 >/dev/null
args=(model.name=ptl_resnet20 data.format=market1501 data.root=data data.height=32 data.width=16
  data.p=3 data.k=2 data.workers=1 loss.kind=ce_triplet loss.margin=0.3 optim.lr=1e-3
  train.epochs=40 train.max_iters_per_epoch=3 train.log_every=1 train.eval_every=10 train.keep_last=2
  schedule.milestones=[30] eval.flip=false threads=1 train.precision="$precision")

# The job's command line for folder $1, in the array cmd (an array, not a function, so that the
# pid of a job started with & is the ptl process itself).
command_for() {
  case "$mode" in
    train) cmd=("$ptl" train "${args[@]}" train.out="$1" --resume auto) ;;
    study) cmd=("$ptl" study --seeds 0-1 --arm plain:model.ptl=off --arm carry:model.ptl=carry
             --pretrain train.epochs=6 --out "$1" "${args[@]}" train.epochs=8 train.eval_every=4
             'schedule.milestones=[6]') ;;
    *) echo "crash test: MODE is train or study, not '$mode'" >&2; exit 2 ;;
  esac
}

command_for reference
"${cmd[@]}" >reference.log 2>&1
# Not compared: what names its folder (the log, the config, the checkpoints' metadata, and
# curves.png, whose legend is the run folder's name; it is drawn from metrics.jsonl, which is).
mapfile -t compared < <(cd reference && find . -type f ! -name train.log ! -name config.yaml ! -name 'ckpt_*' \
  ! -name curves.png | sort)
kills=0 rounds=0
while [ "$kills" -lt "$kills_wanted" ]; do
  rounds=$((rounds + 1))
  out="round$rounds"
  while :; do
    # A kill within the first 1.5 s of a life, or inside a write; half the lives write slowly.
    delay=0
    [ $((RANDOM % 2)) -eq 0 ] && delay=100
    command_for "$out"
    PTL_TEST_WRITE_DELAY_MS=$delay "${cmd[@]}" >>"$out.log" 2>&1 &
    pid=$!
    if [ "$delay" -gt 0 ] && [ $((RANDOM % 2)) -eq 0 ]; then
      # Aim at a write: wait (at most 3 s) for a temporary file to appear, then kill.
      for _ in $(seq 300); do
        [ -n "$(find "$out" -name '*.tmp.*' 2>/dev/null | head -1)" ] && break
        sleep 0.01
      done
    else
      sleep "0.$(printf '%03d' $((RANDOM % 1000)))"
      [ $((RANDOM % 2)) -eq 0 ] && sleep 0.5
    fi
    if kill -9 "$pid" 2>/dev/null; then
      wait "$pid" 2>/dev/null || true
      kills=$((kills + 1))
      [ "$kills" -ge "$kills_wanted" ] && break
    else
      rc=0
      wait "$pid" || rc=$?
      if [ "$rc" -ne 0 ]; then
        echo "crash test: round $rounds: a run after a kill failed (rc $rc):" >&2
        tail -5 "$out.log" >&2
        exit 1
      fi
      break  # the round finished
    fi
  done
  # Run the round to its end, then compare with the uninterrupted run.
  "${cmd[@]}" >>"$out.log" 2>&1 || { echo "crash test: round $rounds: the final resume failed" >&2; tail -5 "$out.log" >&2; exit 1; }
  for f in "${compared[@]}"; do
    cmp -s "reference/$f" "$out/$f" || {
      echo "crash test: round $rounds: $f differs from the uninterrupted run's" >&2
      diff "reference/$f" "$out/$f" | head -5 >&2 || true
      exit 1
    }
  done
  # A kill inside a write leaves its temporary file (name.tmp.PID) beside the intact previous
  # one; the next life deletes it and says so.
  left=$(find "$out" -name '*.tmp.*' | wc -l)
  [ "$left" -eq 0 ] || { echo "crash test: round $rounds: $left temporary files left after the run" >&2; exit 1; }
  echo "round $rounds: done, identical to the uninterrupted run (kills so far: $kills)"
done
mid_write=$(cat ./*.log | sed -n 's/^removed \([0-9]*\) unfinished temporary.*/\1/p' | awk '{s += $1} END {print s + 0}')
echo "crash test ($mode): $kills kills in $rounds rounds, $mid_write of them inside a file write;" \
  "every round ended identical to the uninterrupted run"
[ "$mid_write" -gt 0 ] || { echo "crash test: no kill landed inside a write" >&2; exit 1; }
