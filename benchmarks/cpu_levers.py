"""CPU speed levers of the shipped Fashion denoiser, measured in one run: layout, precision, torch.compile,
fewer steps. Run natively and with torch limited to AVX2 (``--emulate-avx2`` runs itself again in a child
process with ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2), on a quiet machine:

    PYTHONPATH=. python benchmarks/cpu_levers.py --emulate-avx2 --out benchmarks/cpu-levers.json

For each: the U-Net forward at batch 2 (one guided picture's call) and 160 (a guided batch of 80), fastest
of several; and end to end, one guided picture and 80 at the app's defaults with 20, 12 and 10 steps.
torch.compile (inductor) is timed apart: its first call (compiling) and then its forwards.
Trains nothing; needs no data.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from dataclasses import replace

import torch

from explorer import denoiser, precision, registry, sampling
from explorer.tools.bench import AVX2_ONLY, timed_seconds
from explorer.tools.machine import machine_summary


def _fastest_ms(fn, repeats: int) -> float:
    """The fastest of ``repeats`` calls after one warm-up, in ms."""
    return round(1000 * timed_seconds(fn, repeats, warmup=1, pick=min), 2)


def _forward_ms(network, batch: int, bf16: bool, channels_last: bool) -> float:
    x = torch.randn(batch, 1, 28, 28)  # (B, 1, 28, 28)
    t = torch.full((batch,), 500)  # (B,)
    y = torch.zeros(batch, dtype=torch.long)  # (B,)
    network.to(memory_format=torch.channels_last if channels_last else torch.contiguous_format)
    with torch.inference_mode(), precision.autocast(torch.device("cpu"), "bf16" if bf16 else "fp32"):
        return _fastest_ms(lambda: network(x, t, y), repeats=20 if batch < 10 else 4)


def forwards(network) -> dict:
    precisions = ("fp32", "bf16") if precision.cpu_has_bf16_kernels() else ("fp32",)
    return {f"{p}_{layout}_batch{b}_ms": _forward_ms(network, b, p == "bf16", layout == "channels_last")
            for b in (2, 160) for p in precisions for layout in ("nchw", "channels_last")}


def compiled(network) -> dict:
    network.to(memory_format=torch.contiguous_format)
    start = time.perf_counter()
    fast = torch.compile(network)
    x, t, y = torch.randn(2, 1, 28, 28), torch.full((2,), 500), torch.zeros(2, dtype=torch.long)
    with torch.inference_mode():
        fast(x, t, y)
    first = time.perf_counter() - start
    return {"compile_first_call_s": round(first, 1), "fp32_compiled_batch2_ms": _forward_ms(fast, 2, False, False),
            "fp32_compiled_batch160_ms": _forward_ms(fast, 160, False, False)}


def end_to_end(model: denoiser.Denoiser) -> dict:
    result = {"precision": model.precision}
    for steps in (20, 12, 10):
        settings = replace(sampling.DEFAULTS, steps=steps)
        result[f"one_image_{steps}_steps_s"] = round(_fastest_ms(lambda: model.images([0], 0, settings), 3) / 1000, 3)
        labels = [i % 10 for i in range(80)]
        eighty_ms = _fastest_ms(lambda: model.images(labels, 0, settings), 1)
        result[f"eighty_images_{steps}_steps_s"] = round(eighty_ms / 1000, 2)
    return result


def measure(with_compile: bool) -> dict:
    torch.set_num_threads(2)
    model = denoiser.get("fashion", torch.device("cpu"))
    network = registry.get("fashion", "diffusion", torch.device("cpu")).network  # the one the Denoiser runs
    report = {"machine": machine_summary(), "cpu_capability": precision.cpu_capability(),
              "end_to_end": end_to_end(model), "forwards": forwards(network)}
    network.to(memory_format=torch.contiguous_format)
    if with_compile:
        report["torch_compile"] = compiled(network)
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--emulate-avx2", action="store_true")
    parser.add_argument("--compile", action="store_true", help="also time torch.compile (inductor)")
    parser.add_argument("--out")
    parser.add_argument("--write", action="store_true", help="also store the report in the Fashion denoiser's card")
    args = parser.parse_args()
    report = {"native": measure(args.compile)}
    if args.emulate_avx2:
        child = [sys.executable, __file__] + (["--compile"] if args.compile else [])
        done = subprocess.run(child, env={**os.environ, **AVX2_ONLY}, capture_output=True, text=True, check=True)
        report["emulated_avx2"] = json.loads(done.stdout)["native"]
    text = json.dumps(report, indent=2)
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")
    if args.write:
        write_card(report, "PYTHONPATH=. python benchmarks/cpu_levers.py " + " ".join(sys.argv[1:]))


def write_card(report: dict, command: str) -> None:
    """The report as the section "cpu_speed_levers" of the Fashion denoiser's metrics.json (and its card)."""
    from explorer import cards, registry

    notes = ("CPU speed levers, measured in one run natively and with torch limited to AVX2 "
             "(ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2). Adopted: fp32 where the CPU has no native "
             "bf16 (explorer.precision), channels-last weights for fp32 on the CPU (explorer.denoiser). Not "
             "adopted: torch.compile (compile_first_call_s per process start, against a 10 s cold start), "
             "fewer steps (12 steps: Fashion Fréchet 3.03× the floor, over the 3× target).")
    cards.merge_metrics(registry.MODEL_STORE / "fashion-diffusion", "cpu_speed_levers",
                        {"notes": notes, "command": command, **report})


if __name__ == "__main__":
    main()
