#!/usr/bin/env bash
# lesson.14_gan.cached_judge: the second smoke run into the same --out loads judge-smoke.pt instead
# of training it, and its GAN must still be the same (main.cpp seeds again after the judge):
# every epoch line (times left out) and the quality lines of both runs are equal.
set -euo pipefail
binary=$1
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
gan_lines() { grep -E '^(epoch|real test images|generated)' | sed -E 's/ \| [0-9.]+s$//'; }
first=$("$binary" --smoke --threads 2 --out "$out")
second=$("$binary" --smoke --threads 2 --out "$out")
grep -q "^judge: lesson 08's CNN trained" <<<"$first" || { echo "first run did not train the judge"; exit 1; }
grep -q "^judge: lesson 08's CNN loaded from" <<<"$second" || { echo "second run did not load the judge"; exit 1; }
if ! diff <(gan_lines <<<"$first") <(gan_lines <<<"$second"); then
  echo "the GAN differs when the judge is loaded instead of trained (above: < trained, > loaded)"
  exit 1
fi
echo "the same GAN whether the judge was trained ($(gan_lines <<<"$first" | wc -l) lines compared)"
