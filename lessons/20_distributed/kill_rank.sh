#!/usr/bin/env bash
# Two ranks started by the binary (--nproc 2); rank 1 killed with SIGKILL once training runs. Rank 0
# must stop with a clear error instead of waiting for it, within seconds (its --timeout is 30 s, a
# bound it never needs: the closed connection is seen at once), and the launcher must report
# rank 1's death and exit with a failure. Every wait here is bounded.
set -uo pipefail
binary=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$binary" --smoke --nproc 2 --threads 1 --epochs 500 --timeout 30 --out "$work/out" \
  >"$work/stdout" 2>"$work/stderr" &
launcher=$!
for _ in $(seq 600); do  # up to 60 s for the first epoch
  grep -q '^epoch  *1/' "$work/stdout" && break
  kill -0 "$launcher" 2>/dev/null || break
  sleep 0.1
done
rank1=$(sed -n 's/^launch: rank 1 is process \([0-9][0-9]*\)$/\1/p' "$work/stdout")
if ! grep -q '^epoch  *1/' "$work/stdout" || [ -z "$rank1" ]; then
  echo "FAIL: the run did not reach epoch 1"; cat "$work/stdout" "$work/stderr"
  kill "$launcher" 2>/dev/null; exit 1
fi
kill -KILL "$rank1"
killed=$(date +%s)
for _ in $(seq 400); do  # up to 40 s for the others to stop
  kill -0 "$launcher" 2>/dev/null || break
  sleep 0.1
done
if kill -0 "$launcher" 2>/dev/null; then
  echo "FAIL: 40 s after rank 1 died the run still goes on (a hang)"; cat "$work/stderr"
  kill -KILL "$launcher"; exit 1
fi
wait "$launcher"; status=$?
seconds=$(($(date +%s) - killed))
echo "launcher exit status $status, ${seconds}s after the kill"; cat "$work/stderr"
[ "$status" -ne 0 ] || { echo "FAIL: exit status 0 after a rank died"; exit 1; }
grep -q 'launch: rank 1 exited with status 137; the others stop too' "$work/stderr" ||
  { echo "FAIL: the launcher did not name rank 1"; exit 1; }
grep -q 'error: rank 0: the gradient all-reduce failed' "$work/stderr" ||
  { echo "FAIL: rank 0 did not say why it stopped"; exit 1; }
[ "$seconds" -lt 25 ] || { echo "FAIL: ${seconds}s to stop, beyond the 30 s timeout's spirit"; exit 1; }
echo "ok"
