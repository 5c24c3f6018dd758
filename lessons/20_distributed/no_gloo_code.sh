#!/usr/bin/env bash
# The lesson's binary must hold no Gloo code compiled from the headers it was built with (Debian's
# libgloo-dev, an older Gloo than LibTorch's): no Gloo function, vtable or typeinfo defined in it,
# and no Gloo symbol it calls. Only namespace-scope constants (nm type r) may appear.
set -euo pipefail
binary=$1
symbols=$(nm -C "$binary" | grep -E '(^| )gloo::|for gloo::' || true)
bad=$(printf '%s\n' "$symbols" | grep -vE '^[0-9a-f]+ r gloo::' | grep -v '^$' || true)
if [ -n "$bad" ]; then
  echo "FAIL: $binary holds Gloo code or references compiled from Gloo's headers:"
  echo "$bad"
  exit 1
fi
undefined=$(nm -CD --undefined-only "$binary" | grep gloo || true)
if [ -n "$undefined" ]; then
  echo "FAIL: $binary calls into Gloo directly:"; echo "$undefined"; exit 1
fi
echo "ok: $(printf '%s\n' "$symbols" | grep -c . || true) Gloo constants, no Gloo code"
