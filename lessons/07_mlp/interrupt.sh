#!/usr/bin/env bash
# Ctrl-C test of lesson 07 (ctest: lesson.07_mlp.interrupt): a real SIGINT while the first
# checkpoint is being written.
#
#   bash lessons/07_mlp/interrupt.sh build/<preset>/bin/07_mlp
#
# 1. One Ctrl-C as soon as epoch 1 has printed its line, which is when its checkpoint is written:
#    the run finishes that write, stops with exit status 130 and a message that names the
#    checkpoint, leaves no checkpoint.pt.tmp, and --resume continues after that epoch to the end.
# 2. Two Ctrl-C at once, the second meaning "stop now": the run ends at once, but never half-way
#    through a write: no .tmp, and a checkpoint, if there is one, is complete and resumes.
set -euo pipefail

binary=$(realpath "${1:?usage: interrupt.sh path/to/07_mlp}")
[[ -x "$binary" ]] || { echo "FAIL: $binary is not an executable" >&2; exit 1; }
epochs=12
args=(--smoke --threads 1 --epochs "$epochs" --batch-size 32 --seed 7)
# Job control: a background job of a script without it starts with SIGINT ignored (POSIX), and a
# program leaves a signal ignored at its start ignored; with it, the job is in its own process
# group, as a program run from a terminal is, and a Ctrl-C reaches it.
set -m
work=$(mktemp -d "${TMPDIR:-/tmp}/course-07-interrupt.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"

fail() {
  echo "FAIL: $*" >&2
  for log in "$work"/*.out "$work"/*.err; do echo "---- $log" >&2; cat "$log" >&2; done
  exit 1
}

# Starts a run into $work/$1 and sends it $2 SIGINTs the moment epoch 1's line appears; sets
# `status` to its exit status.
interrupt() {
  local name=$1 count=$2
  "$binary" "${args[@]}" --out "$work/$name" >"$work/$name.out" 2>"$work/$name.err" &
  local pid=$!
  for _ in $(seq 12000); do  # up to 60 s
    grep -q '^epoch  1/' "$work/$name.out" && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.005
  done
  for _ in $(seq "$count"); do kill -INT "$pid" 2>/dev/null || true; done
  status=0
  { wait "$pid"; } 2>/dev/null || status=$?
  grep -q '^RESULT' "$work/$name.out" && fail "$name: the run finished before the Ctrl-C"
  if [[ -n $(find "$work/$name" -name '*.tmp') ]]; then
    fail "$name: a temporary file is left: $(find "$work/$name" -name '*.tmp')"
  fi
  return 0
}

# Resumes the run in $work/$1 and checks that it reaches the last epoch; prints its resumed line.
resume() {
  "$binary" "${args[@]}" --out "$work/$1" --resume >"$work/$1-resumed.out" 2>"$work/$1-resumed.err" ||
    fail "$1: the resumed run failed"
  grep -q '^RESULT' "$work/$1-resumed.out" || fail "$1: the resumed run printed no RESULT"
  grep '^resumed from' "$work/$1-resumed.out" || fail "$1: the run did not say it resumed"
}

# 1. One Ctrl-C: stop at the safe point after the checkpoint.
interrupt once 1
((status == 130)) || fail "once: exit status $status, expected 130 (stopped by Ctrl-C)"
stopped=$(tail -n 1 "$work/once.err")
[[ $stopped =~ ^stopped\ after\ epoch\ ([0-9]+),\ as\ asked\;\ (.*)/run_1/checkpoint\.pt\ holds\ it\. ]] ||
  fail "once: the last line of standard error is not the stop message: $stopped"
epoch=${BASH_REMATCH[1]}
echo "one Ctrl-C: $stopped"
resumed=$(resume once)
[[ $resumed == "resumed from $work/once/run_1/checkpoint.pt after epoch $epoch" ]] ||
  fail "once: stopped after epoch $epoch, but: $resumed"
[[ $(($(wc -l <"$work/once/run_1/metrics.csv") - 1)) -eq $epochs ]] ||
  fail "once: metrics.csv does not end with all $epochs epochs"

# 2. Two Ctrl-C: stop at once, a write finished or never started.
interrupt twice 2
((status == 130)) || fail "twice: exit status $status, expected 130 (ended by Ctrl-C)"
if [[ -f "$work/twice/run_1/checkpoint.pt" ]]; then
  echo "two Ctrl-C: the checkpoint written meanwhile is complete; $(resume twice)"
else
  echo "two Ctrl-C: stopped before the first checkpoint was begun (nothing to resume)"
fi
echo "PASS: Ctrl-C stops at a safe point and leaves complete checkpoints only"
