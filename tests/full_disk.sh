#!/usr/bin/env bash
# Full-disk test (ctest: course.full_disk): lessons write into a tiny tmpfs until the disk is full.
#
#   bash tests/full_disk.sh build/<preset>/bin
#
# Every case: the lesson exits with 1 and ONE line on standard error, "error: could not write
# <file>: No space left on device ...", naming the file (no "terminate called", no stack dump, no
# libpng line); no *.tmp is left; the files written before are whole.
#   07 on 10 MB: the first checkpoint (6.4 MB) fits, the second does not: the first stays, and
#                --resume continues from it (and stops again, at the same write, with the same line)
#   07 on 60 KB: the first checkpoint does not fit; metrics.csv keeps its header and row
#   05 on 8 KB:  metrics.csv fits, loss.png does not
#   03 on 4 KB:  model.pt (torch::save) does not fit
# The tmpfs is mounted in a mount namespace of this test's own (unshare): no root needed where user
# namespaces are allowed, and nothing stays mounted if the test is killed. Where neither works, the
# test is skipped (exit 77) and says why.
set -euo pipefail

bin=$(realpath "${1:?usage: full_disk.sh build/<preset>/bin}")
if [[ ${2:-} != --inside ]]; then
  if unshare --user --map-root-user --mount true 2>/dev/null; then
    exec unshare --user --map-root-user --mount bash "$0" "$bin" --inside
  elif [[ $(id -u) -eq 0 ]] && unshare --mount true 2>/dev/null; then
    exec unshare --mount bash "$0" "$bin" --inside
  fi
  echo "SKIP: cannot make a mount namespace here (unshare: no user namespaces and not root), so no small tmpfs to fill"
  exit 77
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/course-full-disk.XXXXXX")
cleanup() {
  umount "$work/disk" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
mkdir "$work/disk"

fail() {
  echo "FAIL: $*" >&2
  for log in "$work"/*.out "$work"/*.err; do echo "---- $log" >&2; cat "$log" >&2; done
  exit 1
}

# A fresh tmpfs of size $1 at $work/disk.
fresh_disk() {
  umount "$work/disk" 2>/dev/null || true
  if ! mount -t tmpfs -o "size=$1" tmpfs "$work/disk" 2>"$work/mount.err"; then
    echo "SKIP: cannot mount a tmpfs here: $(cat "$work/mount.err")"
    exit 77
  fi
}

# Runs a lesson, $1 a name for its logs, then the binary and its arguments; expects the one-line
# error naming the file $file_pattern (a bash regular expression) and no .tmp.
expect_full() {
  local name=$1 status=0
  shift
  "$@" >"$work/$name.out" 2>"$work/$name.err" || status=$?
  ((status == 1)) || fail "$name: exit status $status, expected 1"
  [[ $(wc -l <"$work/$name.err") -eq 1 ]] || fail "$name: more than one line on standard error"
  local line
  line=$(cat "$work/$name.err")
  [[ $line =~ ^error:\ could\ not\ write\ $file_pattern:\ No\ space\ left\ on\ device ]] ||
    fail "$name: not the expected message: $line"
  [[ -z $(find "$work/disk" -name '*.tmp') ]] || fail "$name: left $(find "$work/disk" -name '*.tmp')"
  echo "$name: $line"
}

# Every line of a metrics.csv has as many fields as its header: no half row.
whole_csv() {
  local fields
  fields=$(head -n 1 "$1" | awk -F, '{print NF}')
  awk -F, -v n="$fields" 'NF != n {exit 1}' "$1" || fail "$1 has a partial row"
  [[ $(tail -c 1 "$1" | od -An -c | tr -d ' ') == '\n' ]] || fail "$1 does not end with a line end"
}

mlp=("$bin/07_mlp" --smoke --threads 1 --epochs 3 --batch-size 128)
run1=$work/disk/out/run_1

# 07 on 10 MB: the second checkpoint does not fit next to the first.
fresh_disk 10m
file_pattern="$run1/checkpoint\\.pt"
expect_full 07-10MB "${mlp[@]}" --out "$work/disk/out"
whole_csv "$run1/metrics.csv"
expect_full 07-10MB-resumed "${mlp[@]}" --out "$work/disk/out" --resume
grep -qxF "resumed from $run1/checkpoint.pt after epoch 1" "$work/07-10MB-resumed.out" ||
  fail "the checkpoint kept on the full disk did not resume"
whole_csv "$run1/metrics.csv"

# 07 on 60 KB: not even the first checkpoint fits.
fresh_disk 60k
expect_full 07-60KB "${mlp[@]}" --out "$work/disk/out"
[[ ! -e $run1/checkpoint.pt ]] || fail "07-60KB: a checkpoint.pt appeared"
[[ $(wc -l <"$run1/metrics.csv") -eq 2 ]] || fail "07-60KB: metrics.csv lacks its row"
whole_csv "$run1/metrics.csv"

# 05 on 8 KB: metrics.csv fits, the first PNG does not.
fresh_disk 8k
file_pattern="$run1/loss\\.png"
expect_full 05-8KB "$bin/05_logistic_regression" --smoke --threads 1 --out "$work/disk/out"
whole_csv "$run1/metrics.csv"

# 03 on 4 KB: the model it saves with torch::save (into memory, then written atomically).
fresh_disk 4k
file_pattern="$run1/model\\.pt"
expect_full 03-4KB "$bin/03_modules" --threads 1 --out "$work/disk/out"
echo "PASS: a full disk is one clear line naming the file, the earlier files whole, no .tmp left"
