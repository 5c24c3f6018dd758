#!/usr/bin/env bash
# Kill-and-resume test of lesson 07 (ctest: lesson.07_mlp.kill_resume).
#
#   bash lessons/07_mlp/kill_resume.sh build/<preset>/bin/07_mlp
#
# 1. runs a small multi-epoch training uninterrupted into one --out folder;
# 2. runs the same training into another folder and kills it with SIGKILL as soon as its first
#    checkpoint exists (mid-training: later epochs are still to come);
# 3. restarts it there with --resume;
# and checks that both runs end with the same metrics.csv (every column but the timings) and the
# same RESULT test_acc. One thread, so that the arithmetic is the same in every run. Each --out
# folder holds one run, in run_1 (course::begin_lesson); --resume continues that one.
set -euo pipefail

binary=$(realpath "${1:?usage: kill_resume.sh path/to/07_mlp}")
[[ -x "$binary" ]] || { echo "FAIL: $binary is not an executable" >&2; exit 1; }
epochs=12
args=(--smoke --threads 1 --epochs "$epochs" --batch-size 32 --seed 7)
work=$(mktemp -d "${TMPDIR:-/tmp}/course-07-kill-resume.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"  # any folder works: outputs go to --out

fail() {
  echo "FAIL: $*" >&2
  for log in "$work"/*.log; do echo "---- $log" >&2; cat "$log" >&2; done
  exit 1
}

# 1. The uninterrupted run.
"$binary" "${args[@]}" --out "$work/straight" >"$work/straight.log" 2>&1 ||
  fail "the uninterrupted run failed"

# 2. The same run, killed with SIGKILL once a checkpoint is on disk and epoch 2 has printed its line
#    (its checkpoint may or may not be written yet: either way the resumed run must match).
"$binary" "${args[@]}" --out "$work/killed" >"$work/killed.log" 2>&1 &
pid=$!
for _ in $(seq 6000); do  # up to 60 s
  [[ -f "$work/killed/run_1/checkpoint.pt" ]] && grep -q '^epoch  2/' "$work/killed.log" && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.01
done
kill -KILL "$pid" 2>/dev/null || true
status=0
{ wait "$pid"; } 2>/dev/null || status=$?  # 137 = 128 + SIGKILL (9)
[[ $status -eq 137 ]] || fail "the run was not killed mid-training (exit status $status, 137 expected)"
grep -q '^RESULT' "$work/killed.log" && fail "the run finished before it was killed"
[[ -f "$work/killed/run_1/checkpoint.pt" ]] || fail "no checkpoint appeared in $work/killed/run_1"
echo "killed after: $(grep '^epoch' "$work/killed.log" | tail -n 1)"
echo "metrics.csv rows when killed: $(($(wc -l <"$work/killed/run_1/metrics.csv") - 1))"

# 3. Resume where it stopped.
"$binary" "${args[@]}" --out "$work/killed" --resume >"$work/resumed.log" 2>&1 ||
  fail "the resumed run failed"
resumed_line=$(grep '^resumed from' "$work/resumed.log") || fail "the run did not say it resumed"
[[ $resumed_line == "resumed from $work/killed/run_1/checkpoint.pt after epoch "* ]] ||
  fail "it resumed another run: $resumed_line"
[[ -d "$work/killed/run_2" ]] && fail "--resume made a new run folder instead of continuing run_1"
echo "$resumed_line"
done_before=$(sed -E 's/.* after epoch ([0-9]+)$/\1/' <<<"$resumed_line")
[[ $done_before =~ ^[0-9]+$ ]] || fail "cannot read the epoch from: $resumed_line"
((done_before >= 1 && done_before < epochs)) || fail "resumed after epoch $done_before, expected 1..$((epochs - 1))"

# 4. The same numbers: every metrics.csv column but the timings. The header names them, so a change
#    of columns shows here: epoch, train_loss, train_acc, val_loss, val_acc, test_loss, test_acc, lr
#    are compared; seconds and compute_seconds (9, 10) are not.
expected_header="epoch,train_loss,train_acc,val_loss,val_acc,test_loss,test_acc,lr,seconds,compute_seconds"
for folder in straight/run_1 killed/run_1; do
  [[ $(head -n 1 "$work/$folder/metrics.csv") == "$expected_header" ]] ||
    fail "$folder/metrics.csv has the header $(head -n 1 "$work/$folder/metrics.csv")"
done
numbers() { cut -d, -f1-8 "$1/run_1/metrics.csv"; }
[[ $(numbers "$work/straight" | wc -l) -eq $((epochs + 1)) ]] || fail "straight metrics.csv lacks rows"
diff <(numbers "$work/straight") <(numbers "$work/killed") || fail "metrics differ after resume"
result() { grep '^RESULT' "$1" | grep -o 'test_acc=[0-9.]*'; }
straight_acc=$(result "$work/straight.log") || fail "no RESULT line in the uninterrupted run"
resumed_acc=$(result "$work/resumed.log") || fail "no RESULT line in the resumed run"
[[ "$straight_acc" == "$resumed_acc" ]] || fail "RESULT $straight_acc vs resumed $resumed_acc"
echo "PASS: killed after epoch $done_before, resumed, and ended with the same metrics ($resumed_acc)"
