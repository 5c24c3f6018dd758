#!/usr/bin/env bash
# ctest course.no_package_manager: once ./course setup has succeeded, `./course run` asks no
# package manager: dpkg-query, dpkg, apt-get, apt-cache and sudo are replaced by stand-ins that
# record the call and fail, and the run must still succeed without calling any of them.
#   bash tests/check_no_package_manager.sh REPO PRESET
set -euo pipefail
repo=$1 preset=$2
if [ ! -f "$repo/build/setup-done" ]; then
  echo "skipped: this build was not made through ./course (no build/setup-done), so there is no"
  echo "set-up to rely on"
  exit 0
fi
spy=$(mktemp -d "${TMPDIR:-/tmp}/course-spy.XXXXXX")
trap 'rm -rf "$spy"' EXIT
for tool in dpkg-query dpkg apt-get apt-cache sudo; do
  printf '#!/bin/sh\necho "%s $*" >> "%s/calls"\nexit 1\n' "$tool" "$spy" >"$spy/$tool"
  chmod +x "$spy/$tool"
done
# --out: the lesson writes into the scratch folder, not the learner's build/<preset>/out.
out=$(cd "$spy" && PATH="$spy:$PATH" COURSE_PRESET=$preset "$repo/course" run 01 -- --out "$spy/out" 2>&1) || {
  echo "FAIL: ./course run 01 failed without a package manager:"; echo "$out"; exit 1; }
if [ -s "$spy/calls" ]; then
  echo "FAIL: ./course run 01 called a package manager:"; cat "$spy/calls"; exit 1
fi
echo "$out" | grep -q '^== 01_tensors ' || { echo "FAIL: lesson 01 did not run:"; echo "$out"; exit 1; }
echo "./course run 01 ran lesson 01 and called no package manager"
