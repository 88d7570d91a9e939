#!/usr/bin/env bash
# One GPU session, as run on a lent H100/H200 (15 minutes of device time in all):
#   1. smoke-test CUDA training and evaluation on tiny runs (stops here on any error),
#   2. train the Fashion and MNIST denoisers and VAEs at the same time (small models leave the GPU idle,
#      so four processes share it well),
#   3. measure CUDA throughput (bench) and evaluate the new models (evaluate, sweeps, guidance intervals).
# Results go to $OUT: log.txt, diffusion.tar and vae.tar (the weights, right after training),
# gpu_results.json, results.tar (cards, metrics and logs at the end). Each file stays under 16 MB.
# Usage: OUT=/tmp/gpu EXPLORER_DATA=/path/to/data TRAIN_MIN=5 bash benchmarks/gpu_session.sh
set -u
export PYTHONUNBUFFERED=1
export EXPLORER_DATA=${EXPLORER_DATA:-../shared/data}
export OUT=${OUT:-/tmp/gpu_session}
TRAIN_MIN=${TRAIN_MIN:-5}
export PER_CLASS=${PER_CLASS:-100}  # images per class in every evaluation
END_S=${END_S:-560}  # seconds after the start by which results.tar must be written
LOGS=/tmp/gpu_session_logs
mkdir -p "$OUT" "$LOGS"
LOG="$OUT/log.txt"
PY=${PYTHON:-python3}
say() { echo "[$(date -u +%H:%M:%S)] $*" | tee -a "$LOG"; }

say "machine: $(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader)"
$PY -c "import torch, numpy, safetensors; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())" 2>&1 | tee -a "$LOG"

say "1. smoke tests"
SMOKE=/tmp/smoke_store
rm -rf "$SMOKE" && mkdir -p "$SMOKE" && cp -r model_store/mnist-judge "$SMOKE/"
for fam in diffusion vae; do
  $PY -m explorer train --dataset mnist --family $fam --epochs 0.2 --batch-size 256 --out "$SMOKE/mnist-$fam" \
    >"$LOGS/smoke-$fam.log" 2>&1 || { say "smoke training $fam FAILED"; tail -30 "$LOGS/smoke-$fam.log" | tee -a "$LOG"; exit 1; }
  EXPLORER_MODEL_STORE=$SMOKE $PY -m explorer evaluate --dataset mnist --family $fam --per-class 10 --no-write \
    >>"$LOGS/smoke-$fam.log" 2>&1 || { say "smoke evaluate $fam FAILED"; tail -30 "$LOGS/smoke-$fam.log" | tee -a "$LOG"; exit 1; }
done
say "smoke OK"

say "2. training, $TRAIN_MIN minutes each, four processes"
train() {  # dataset family extra-args...
  local d=$1 f=$2; shift 2
  rm -rf "model_store/$d-$f/.train_state"
  OMP_NUM_THREADS=4 $PY -m explorer train --dataset "$d" --family "$f" --minutes "$TRAIN_MIN" "$@" >"$LOGS/train-$d-$f.log" 2>&1
  say "train $d-$f exit $? : $(tail -c 300 "$LOGS/train-$d-$f.log" | tr '\r' '\n' | tail -2 | tr '\n' ' ')"
}
train fashion diffusion --batch-size 256 &
train mnist diffusion --batch-size 256 --epochs 400 &
train fashion vae --batch-size 128 --epochs 150 &
train mnist vae --batch-size 128 --epochs 300 &
wait
MODELS="model_store/fashion-diffusion model_store/mnist-diffusion model_store/fashion-vae model_store/mnist-vae"
tar --exclude=.train_state -cf "$OUT/diffusion.tar" model_store/*-diffusion 2>>"$LOG"
tar --exclude=.train_state -cf "$OUT/vae.tar" model_store/*-vae 2>>"$LOG"
say "trained models packed"

EVAL_S=$(( END_S - SECONDS )); (( EVAL_S < 60 )) && EVAL_S=60
say "3. bench + evaluate, at most $EVAL_S s"
timeout "$EVAL_S" $PY - <<'EOF' 2>&1 | tee -a "$LOG"
import json, os, traceback
from dataclasses import replace

from explorer import sampling
from explorer.tools import bench, evaluate
from explorer.cli import main

path = os.path.join(os.environ["OUT"], "gpu_results.json")
n = os.environ["PER_CLASS"]
results = {"cuda_bench": {}, "interval_sweep": {}}


def guarded(fn, *args):
    try:
        return fn(*args)
    except Exception:
        traceback.print_exc()


def save():
    with open(path, "w") as f:
        json.dump(results, f, indent=1)


for d in ("fashion", "mnist"):
    results["cuda_bench"][d] = guarded(bench.bench_diffusion_cuda, d)
    save()
print(json.dumps(results["cuda_bench"], indent=1))
for d in ("fashion", "mnist"):
    guarded(main, ["evaluate", "--dataset", d, "--family", "vae", "--per-class", n])
    guarded(main, ["evaluate", "--dataset", d, "--family", "diffusion", "--per-class", n])
for d in ("fashion", "mnist"):
    reference = evaluate.real_reference(d, int(n))
    rows = results["interval_sweep"][d] = []
    for scale in (2.0, 3.0, 4.0):
        for hi in (550, 700, 850, 999):
            settings = replace(sampling.DEFAULTS, guidance=scale, guidance_interval=(0, hi))
            r = guarded(lambda: evaluate.evaluate_settings(d, "diffusion", int(n), reference, settings=settings))
            if r is None:
                continue
            rows.append({"guidance": scale, "interval": [0, hi],
                         **{k: r[k] for k in ("recognition", "frechet_ratio", "variety_ratio")}})
            print(d, rows[-1], flush=True)
            save()
for d in ("fashion", "mnist"):
    guarded(main, ["evaluate", "--dataset", d, "--sweep", "guidance", "--per-class", n])
for d in ("fashion", "mnist"):
    guarded(main, ["evaluate", "--dataset", d, "--sweep", "steps", "--per-class", n])
EOF
tar --exclude=.train_state --exclude=model.safetensors -cf "$OUT/results.tar" $MODELS "$LOGS" 2>>"$LOG"
say "done"
