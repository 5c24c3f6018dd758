#!/usr/bin/env bash
# The machinery of ./course check, hint and watch's helpers, without building anything (it runs
# after the build, on the grading binaries that cmake/CourseExercises.cmake made):
#   - check grades the first unsolved exercise, and moves on once it passes (the state file)
#   - check 03 / check 05.2 pick an exercise; an untouched exercise fails with its expectation
#   - check --shorten-log turns a captured 200-line compiler error into a few lines at the
#     learner's line
#   - check --reset restores the committed exercise (in a scratch git clone of the files)
#   - hint prints the exercise's hint
# usage: check_exercise_commands.sh SOURCE_DIR PRESET [BIN_DIR]
set -euo pipefail
root=$1 preset=$2
export COURSE_EXERCISE_BIN_DIR=${3:-$root/build/$preset/bin}
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
export COURSE_PRESET=$preset COURSE_EXERCISE_STATE=$scratch/state COURSE_CHECK_NO_BUILD=1
fail() { echo "FAIL: $*" >&2; exit 1; }
# A learner's clone, with exercises changed: "untouched fails" cannot be shown here (77: skipped).
if git -C "$root" rev-parse >/dev/null 2>&1 &&
  ! git -C "$root" diff --quiet HEAD -- 'lessons/*/exercises/*.cpp'; then
  echo "skipped: exercise files differ from git HEAD (a learner's work)"
  exit 77
fi
expect() {  # expect NAME PATTERN OUTPUT
  grep -qE -- "$2" <<<"$3" || { echo "$3" >&2; fail "$1: no line matches '$2'"; }
}
course=$root/course

# 1. Untouched exercises: the first one is graded and fails with its expectation; no progress.
out=$("$course" check 2>&1) && fail "an untouched exercise passed"
expect "first unsolved" '^==> checking 01\.1 ' "$out"
expect "plain words" 'should give Python.s \(5, 4\) distances' "$out"
expect "what to do" 'run ./course check 01\.1 again' "$out"
[ ! -s "$scratch/state" ] || fail "a failing check wrote progress: $(cat "$scratch/state")"

# 2. Solved (the solutions stand in for a learner's work): the state advances, check moves on.
out=$(COURSE_EXERCISES_FROM=solutions "$course" check 2>&1) || { echo "$out"; fail "01.1 solved did not pass"; }
expect "pass" '01\.1 pairwise_distances passes' "$out"
expect "next" 'next: 01\.2 ' "$out"
[ "$(cat "$scratch/state")" = "01.1" ] || fail "state after 01.1: $(cat "$scratch/state")"
out=$(COURSE_EXERCISES_FROM=solutions "$course" check 2>&1) || fail "01.2 solved did not pass"
expect "moved on" '^==> checking 01\.2 ' "$out"
out=$(COURSE_EXERCISES_FROM=solutions "$course" check 05.2 2>&1) || fail "05.2 solved did not pass"
[ "$(tr '\n' ' ' <"$scratch/state")" = "01.1 01.2 05.2 " ] || fail "state: $(cat "$scratch/state")"
out=$("$course" check --list 2>&1)
expect "list solved" '^  \[x\] 05\.2 ' "$out"
expect "list unsolved" '^  \[ \] 02\.1 ' "$out"

# 3. Picking: the next unsolved is 02.1; "03" is lesson 03's first unsolved; a failing check of a
#    solved exercise takes it out of the state again.
out=$("$course" check 2>&1) && fail "02.1 untouched passed"
expect "first unsolved after solving" '^==> checking 02\.1 ' "$out"
out=$("$course" check 3 2>&1) && fail "03.1 untouched passed"
expect "lesson pick" '^==> checking 03\.1 ' "$out"
out=$("$course" check 05.2 2>&1) && fail "05.2 untouched passed"
grep -qx 05.2 "$scratch/state" && fail "a failing 05.2 stayed in the state"
out=$("$course" check 9.9 2>&1) && fail "check 9.9 succeeded"
expect "unknown exercise" "no exercise '9\.9'" "$out"

# 4. The compiler-error shortener on a captured error (a std::string added to a tensor: ~200
#    lines of candidates from gcc).
out=$("$course" check --shorten-log "$root/tests/data/exercise_compile_error.log" 2>&1)
expect "file and line" '^does not compile: lessons/01_tensors/exercises/01\.1_pairwise_distances\.cpp, line 15:$' "$out"
# gcc's quotes are ‘ and ’, three bytes each: one "." in the C locale (Debian's image) is one byte.
expect "first error" "^  error: no match for [^ ]+operator\+[^ ]+ \(operand types are [^ ]+at::Tensor[^ ]+ and [^ ]+std::string" "$out"
expect "the line" '^ +15 \|   return difference' "$out"
[ "$(wc -l <<<"$out")" -le 5 ] || fail "the shortened error has $(wc -l <<<"$out") lines"

# An error deep in the standard library (std::sort of tensors): reported at the learner's line.
out=$("$course" check --shorten-log "$root/tests/data/exercise_template_error.log" 2>&1)
expect "the learner's line" '^does not compile: lessons/01_tensors/exercises/01\.2_checkerboard\.cpp, line 15:$' "$out"
expect "its message" "^  error: cannot convert [^ ]+at::Tensor[^ ]+ to [^ ]+bool[^ ]+ in return$" "$out"

# 5. hint
out=$("$course" hint 05.1 2>&1)
expect "hint" 'logits\.max\(1, /\*keepdim=\*/true\)' "$out"

# 6. --reset in a scratch clone: the committed file comes back, the exercise is unsolved again.
#    Without git (the Docker image has none): --reset refuses, saying why, and changes nothing.
if ! command -v git >/dev/null; then
  file=lessons/01_tensors/exercises/01.2_checkerboard.cpp
  before=$(cat "$root/$file")
  out=$("$course" check --reset 01.2 2>&1) && fail "--reset without git did not fail"
  expect "no git" 'no git history .*copy that file from the repository' "$out"
  [ "$(cat "$root/$file")" = "$before" ] || fail "--reset without git changed $file"
  echo "check and hint behave; --reset refuses without git, as it should"
  exit 0
fi
clone=$scratch/clone
mkdir -p "$clone/lessons/01_tensors"
cp "$course" "$clone/course"
cp -r "$root/lessons/01_tensors/exercises" "$clone/lessons/01_tensors/"
git -C "$clone" init -q
git -C "$clone" add -A
git -C "$clone" -c user.name=test -c user.email=test@example.com commit -qm exercises
file=lessons/01_tensors/exercises/01.2_checkerboard.cpp
echo "// the learner's half-done work" >>"$clone/$file"
echo 01.2 >"$scratch/state"
"$clone/course" check --reset 01.2 >/dev/null
cmp -s "$clone/$file" "$root/$file" || fail "--reset did not restore $file"
[ ! -s "$scratch/state" ] || fail "--reset left 01.2 in the state"
echo "check, hint and reset behave"
