"""The speed rows that sit near their targets on an AVX2-only CPU, measured in interleaved rounds.

On a noisy machine one bench run can land a 0.25 s figure anywhere from 0.2 to 0.35 s, because the
machine's speed drifts over minutes. This measures the rows close to their targets (issue 10) several
times, one round after another, each round measuring every row once, and reports each round and the
median of the rounds. With ``--trees A B`` each round runs every tree in turn (a child process per
tree and round, the tree's code on PYTHONPATH), so two versions of the code are compared at the same
moments. ``--emulate-avx2`` limits torch to AVX2 (ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2).

    PYTHONPATH=. python benchmarks/near_targets.py --emulate-avx2 --rounds 5 --out benchmarks/near-targets-avx2.json

Rows, all at the app's defaults with new seeds (no cache hits), 2 torch threads: one guided image and
80 guided images from the full model and from the fast copy (both datasets; median of 5 and of 2),
a Remove-noise run (median of 5, the whole stream: chart, GIF and PNG included) and the 6×4 guidance
grid (median of 3). Trains nothing; needs the shipped models.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

TARGETS_S = {"fast_copy_one_image_s": 0.15, "fast_copy_80_s": 4.0, "remove_noise_total_s": 0.3,
             "guidance_grid_6x4_s": 2.0}  # issue 10's AVX2 targets for the rows that have one


def measure_round(round_index: int) -> dict:
    """Every row once, in this process (the tree on PYTHONPATH)."""
    import torch

    from explorer import precision
    from explorer.demos import guidance, remove_noise
    from explorer.tools import bench

    torch.set_num_threads(2)
    bench._first_and_total(remove_noise.remove_noise_stream(seed=10_000))  # warm-up: loads what the tabs use
    guidance.guidance_grid(first_seed=20_000)
    row = {"cpu_capability": precision.cpu_capability()}
    for dataset in ("fashion", "mnist"):
        for family, name in (("diffusion", "full_model"), ("distilled", "fast_copy")):
            figures = bench.bench_diffusion_cpu(dataset, repeats=5, family=family)
            row[f"{dataset}_{name}_precision"] = figures["precision"]
            row[f"{dataset}_{name}_one_image_s"] = figures["one_guided_image_s"]
            row[f"{dataset}_{name}_80_s"] = figures["eighty_guided_images_s"]
    seeds = [100_000 + 100 * round_index + i for i in range(5)]
    row["remove_noise_total_s"] = round(statistics.median(
        bench._first_and_total(remove_noise.remove_noise_stream(seed=s))[1] for s in seeds), 3)
    row["guidance_grid_6x4_s"] = round(statistics.median(
        bench.timed_seconds(lambda i=i: guidance.guidance_grid(first_seed=200_000 + 1000 * round_index + 10 * i), 1, 0)
        for i in range(3)), 3)
    return row


def run_rounds(trees: list[str], rounds: int, emulate_avx2: bool) -> dict:
    env = dict(os.environ)
    if emulate_avx2:
        env.update(ATEN_CPU_CAPABILITY="avx2", ONEDNN_MAX_CPU_ISA="AVX2")
    report = {"command": " ".join(["python", *sys.argv]),
              "started": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "emulated_avx2": emulate_avx2,
              "targets_s": TARGETS_S, "rounds": {tree: [] for tree in trees}}
    for r in range(rounds):
        for tree in trees:
            done = subprocess.run([sys.executable, os.path.abspath(__file__), "--one-round", str(r)],
                                  capture_output=True, text=True, check=True, cwd=tree,
                                  env={**env, "PYTHONPATH": os.path.abspath(tree)})
            row = json.loads(done.stdout)
            report["rounds"][tree].append(row)
            print(tree, json.dumps(row), file=sys.stderr, flush=True)
    report["median_of_rounds"] = {tree: _medians(rows) for tree, rows in report["rounds"].items()}
    from explorer.tools.machine import machine_summary

    report["machine"] = machine_summary()
    return report


def _medians(rows: list[dict]) -> dict:
    return {key: round(statistics.median(row[key] for row in rows), 4) for key in rows[0] if key.endswith("_s")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--trees", nargs="+", default=["."], help="source trees to alternate (default: this one)")
    parser.add_argument("--emulate-avx2", action="store_true")
    parser.add_argument("--out")
    parser.add_argument("--one-round", type=int, help=argparse.SUPPRESS)  # a child: one round, JSON on stdout
    args = parser.parse_args()
    if args.one_round is not None:
        print(json.dumps(measure_round(args.one_round)))
        return
    text = json.dumps(run_rounds(args.trees, args.rounds, args.emulate_avx2), indent=1)
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
