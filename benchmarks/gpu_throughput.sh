#!/usr/bin/env bash
# GPU throughput on a lent H100/H200 (about 6 minutes of device time): `bench` on both denoisers, eager
# (with each model's guidance interval from its config) and compiled in the torch.compile modes, one
# process per mode (a compiled network lasts only as long as its process). Needs no training data.
# Results: $OUT/bench-<mode>.json (bench's JSON report) and $OUT/bench-<mode>.log (stderr).
# Usage: OUT=/tmp/gpu bash benchmarks/gpu_throughput.sh
set -u
export PYTHONUNBUFFERED=1
OUT=${OUT:-/tmp/gpu_throughput}
PY=${PYTHON:-python3}
mkdir -p "$OUT"
for mode in eager reduce-overhead default; do
  args=()
  [ "$mode" != eager ] && args=(--compile "$mode")
  echo "[$(date -u +%H:%M:%S)] bench $mode"
  timeout 200 $PY -m explorer bench --no-write "${args[@]}" >"$OUT/bench-$mode.json" 2>"$OUT/bench-$mode.log" \
    || { echo "bench $mode failed (exit $?):"; tail -5 "$OUT/bench-$mode.log"; }
done
