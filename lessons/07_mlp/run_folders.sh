#!/usr/bin/env bash
# Run-folder test of lesson 07 (ctest: lesson.07_mlp.run_folders): a second run into the same --out
# never touches the first one's files, and --resume continues the latest run.
#
#   bash lessons/07_mlp/run_folders.sh build/<preset>/bin/07_mlp
#
# 1. Two fresh runs (a forgotten --resume) into one --out: run_1 and run_2, each printed at the
#    start and the end; run_1's checkpoint.pt and metrics.csv are byte for byte as they were.
# 2. --resume continues run_2 (the latest) and makes no run_3; --out <out>/run_1 --resume
#    continues the older one; --resume with no checkpoint anywhere says so.
set -euo pipefail

binary=$(realpath "${1:?usage: run_folders.sh path/to/07_mlp}")
[[ -x "$binary" ]] || { echo "FAIL: $binary is not an executable" >&2; exit 1; }
args=(--smoke --threads 1 --epochs 2 --seed 7)
work=$(mktemp -d "${TMPDIR:-/tmp}/course-07-run-folders.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"
out=$work/out

fail() {
  echo "FAIL: $*" >&2
  for log in "$work"/*.log; do echo "---- $log" >&2; cat "$log" >&2; done
  exit 1
}
has_line() { grep -qxF -- "$2" "$work/$1.log" || fail "$1.log has no line: $2"; }

# 1. Two fresh runs.
"$binary" "${args[@]}" --out "$out" >"$work/first.log" 2>&1 || fail "the first run failed"
has_line first "run folder: $out/run_1 (new)"
has_line first "wrote metrics.csv, loss.png, accuracy.png and checkpoint.pt in $out/run_1"
before=$(cd "$out/run_1" && md5sum checkpoint.pt metrics.csv)
"$binary" "${args[@]}" --out "$out" >"$work/second.log" 2>&1 || fail "the second run failed"
has_line second "run folder: $out/run_2 (new)"
has_line second "wrote metrics.csv, loss.png, accuracy.png and checkpoint.pt in $out/run_2"
[[ $(cd "$out/run_1" && md5sum checkpoint.pt metrics.csv) == "$before" ]] ||
  fail "the second run changed run_1's checkpoint.pt or metrics.csv"
[[ -f "$out/run_2/checkpoint.pt" && -f "$out/run_2/metrics.csv" ]] || fail "run_2 lacks its files"

# 2. --resume: the latest run, or the one --out names.
"$binary" "${args[@]}" --out "$out" --resume >"$work/resume.log" 2>&1 || fail "--resume failed"
has_line resume "run folder: $out/run_2 (continued, --resume)"
has_line resume "resumed from $out/run_2/checkpoint.pt after epoch 2"
[[ -e "$out/run_3" ]] && fail "--resume made a new run folder"
"$binary" "${args[@]}" --out "$out/run_1" --resume >"$work/older.log" 2>&1 || fail "resuming run_1 failed"
has_line older "resumed from $out/run_1/checkpoint.pt after epoch 2"
status=0
"$binary" "${args[@]}" --out "$work/empty" --resume >"$work/nothing.log" 2>&1 || status=$?
((status == 1)) || fail "--resume with nothing to resume: exit status $status, expected 1"
has_line nothing "error: --resume: no run folder in $work/empty holds a checkpoint.pt to continue. Run once without --resume (same --out) first, or point --out at the folder that holds the runs."
echo "PASS: run_1 kept, run_2 new, --resume continued the latest and the one named"
