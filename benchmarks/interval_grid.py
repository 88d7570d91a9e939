"""Guidance-interval grid of one denoiser: judge scores for each (scale s, interval 0 … hi, seed).

Run from the repository root: ``PYTHONPATH=. python benchmarks/interval_grid.py --dataset fashion --scales 2.5,3
--highs 350,400,450 --seeds 0,1234 --out grid.json``. Set ``EXPLORER_MODEL_STORE`` to score a model
folder that is not shipped yet (it must hold ``<dataset>-diffusion`` and ``<dataset>-judge``).
Writes the JSON after every row, so a run cut short keeps what it measured. Trains nothing.
"""

from __future__ import annotations

import argparse
import json

from explorer.tools import evaluate
from explorer.tools.machine import machine_summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--scales", required=True, help="guidance scales, e.g. 2.5,3")
    parser.add_argument("--highs", required=True, help="upper ends of the interval, e.g. 350,400,450")
    parser.add_argument("--seeds", default="0")
    parser.add_argument("--per-class", type=int, default=100)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    reference = evaluate.real_reference(args.dataset, args.per_class)
    report = {"notes": f"s applied only for 0 ≤ t ≤ hi, {args.per_class} images per class, judge scores",
              "machine": machine_summary(), "per_class": args.per_class, "rows": []}
    scales = [float(v) for v in args.scales.split(",")]
    highs = [int(v) for v in args.highs.split(",")]
    for seed in [int(v) for v in args.seeds.split(",")]:
        for r in evaluate.interval_sweep(args.dataset, scales, highs, args.per_class, reference, seed):
            row = {k: r[k] for k in ("guidance", "interval", "seed", "recognition", "frechet_ratio", "variety_ratio",
                                     "generation_seconds")}
            report["rows"].append(row)
            print(json.dumps(row), flush=True)
            with open(args.out, "w") as f:
                json.dump(report, f, indent=1)

if __name__ == "__main__":
    main()
