"""Second, short GPU session: a finer guidance-interval grid for the new denoisers, then CUDA throughput of
the default sampler with the network in eager mode, in channels-last layout, and compiled (torch.compile).

Run from the repository root on a CUDA machine: ``python benchmarks/gpu_session2.py OUT.json``. The grid needs
both splits of the data (the real-vs-real floor compares training and test images); the recorded run had only
the test split with it, so its grid failed and was measured on the CPU instead (the Fashion card's
guidance_interval_grid_cpu); its throughput part is in the Fashion card's speed_cuda.
Writes the JSON after every measurement, so a run cut short keeps what it measured.
"""

from __future__ import annotations

import json
import sys
import time
import traceback

import torch

from explorer import denoiser, registry, sampling
from explorer.tools import evaluate

RESULTS: dict = {"interval_grid": {}, "throughput": {}}
GRID = {"fashion": ((2.0, 2.5, 3.0), (300, 400, 450, 500, 550, 600)),
        "mnist": ((2.0, 2.5, 3.0), (400, 550, 700))}


def save(path: str) -> None:
    with open(path, "w") as f:
        json.dump(RESULTS, f, indent=1)


def interval_grid(dataset: str, path: str) -> None:
    reference = evaluate.real_reference(dataset, 100)
    rows = RESULTS["interval_grid"][dataset] = []
    scales, highs = GRID[dataset]
    for r in evaluate.interval_sweep(dataset, scales, highs, 100, reference):
        rows.append({k: r[k] for k in ("guidance", "interval", "recognition", "frechet_ratio", "variety_ratio")})
        print(dataset, rows[-1], flush=True)
        save(path)


def images_per_s(batch: int, repeats: int = 3) -> float:
    labels = [i % 10 for i in range(batch)]
    denoiser.get("fashion").images(labels, 0, sampling.DEFAULTS)  # warm-up (and compilation)
    torch.cuda.synchronize()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        denoiser.get("fashion").images(labels, 0, sampling.DEFAULTS)
        torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return round(batch / sorted(times)[len(times) // 2], 1)


def throughput(variant: str, path: str) -> None:
    """Variants change the cached network in place, so they run in this order: eager, channels_last, compiled."""
    net = registry.get("fashion", "diffusion").network
    if variant == "channels_last":
        net.to(memory_format=torch.channels_last)
    if variant == "compiled_channels_last":
        net.compile(dynamic=True)
    row = RESULTS["throughput"][variant] = {}
    for batch in (256, 4096):
        start = time.perf_counter()
        row[str(batch)] = images_per_s(batch)
        row[f"{batch}_measure_s"] = round(time.perf_counter() - start, 1)
        print(variant, row, flush=True)
        save(path)


def main(path: str) -> None:
    torch.backends.cudnn.benchmark = True
    RESULTS["device"] = torch.cuda.get_device_name()
    for step in (lambda: interval_grid("fashion", path), lambda: interval_grid("mnist", path),
                 lambda: throughput("eager", path), lambda: throughput("channels_last", path),
                 lambda: throughput("compiled_channels_last", path)):
        try:
            step()
        except Exception:
            traceback.print_exc()
    save(path)


if __name__ == "__main__":
    main(sys.argv[1])
