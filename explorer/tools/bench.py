"""``bench``: measured speed of the shipped models, printed as JSON and written into the cards.

Owns: timing (median of repeats, after warm-up) of one guided denoiser call, one guided image and
80 guided images end to end at the app's defaults on the CPU with a given thread count (for the full
model, and for its fast copy where one is shipped), the
one-shot families' time per image, and GPU throughput when the device is CUDA (eager, or compiled
with torch.compile when asked); every CPU figure with the CPU's capability and the precision it
ran at, and (``bench_emulated_avx2``) the same figures with torch limited to AVX2, in the same run.
Does not know: quality, the UI.
"""

from __future__ import annotations

import os
import statistics
import time
from typing import Callable

import torch

from explorer import denoiser, one_shot, precision, registry, sampling
from explorer.devices import compute_device
from explorer.tools.machine import machine_summary


def timed_seconds(fn: Callable[[], object], repeats: int, warmup: int = 1,
                  pick: Callable[[list[float]], float] = statistics.median) -> float:
    """Seconds per call of ``fn``: ``pick`` (the median, or e.g. ``min``) of ``repeats`` calls after ``warmup``."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return pick(times)


def bench_diffusion_cpu(dataset: str, repeats: int = 5, family: str = "diffusion") -> dict:
    """The app's defaults on the CPU: one guided call, one guided image, 80 guided images; and the
    precision it ran at (explorer.precision's choice for this CPU) with both precisions' probe times.
    ``family``: "diffusion" (the full model) or "distilled" (its fast copy)."""
    device = torch.device("cpu")
    model = denoiser.get(dataset, device, family)
    settings = sampling.DEFAULTS
    one, eighty = [0], [i % 10 for i in range(80)]
    model_fn = model.model_fn(torch.tensor(one), settings.guidance)
    x = torch.randn(1, 1, 28, 28)  # (1, 1, 28, 28)
    per_call = timed_seconds(lambda: model_fn(x, 500), repeats=20, warmup=3)
    one_image = timed_seconds(lambda: model.images(one, 0, settings), repeats)
    eighty_images = timed_seconds(lambda: model.images(eighty, 0, settings), max(2, repeats // 2))
    return {
        "precision": model.precision,
        "fp32_below": model.fp32_below,
        "precision_probe_ms": _precision_probe_ms(registry.get(dataset, family, device).network, device),
        "settings": {"sampler": settings.sampler, "steps": settings.steps, "guidance": settings.guidance,
                     "guidance_interval": model.interval(settings.guidance_steps)},
        "guided_call_ms_batch1": round(per_call * 1000, 2),
        "one_guided_image_s": round(one_image, 4),
        "eighty_guided_images_s": round(eighty_images, 3),
        "eighty_images_per_s": round(80 / eighty_images, 1),
    }


def _precision_probe_ms(network: torch.nn.Module, device: torch.device) -> dict:
    """explorer.precision's probe (a forward of each batch size it probes) of the denoiser's network (the registry's
    copy, the one its Denoiser runs) in each precision, measured here, in ms per batch size."""
    return {name: {str(n): round(1000 * precision.seconds_per_forward(network, device, name == "bf16", n), 2)
                   for n in precision.PROBE_BATCHES}
            for name in ("fp32", "bf16")}


def bench_one_shot_cpu(dataset: str, family: str) -> dict:
    device = torch.device("cpu")
    one = timed_seconds(lambda: one_shot.one_shot_images(dataset, family, [0], 0, device), repeats=20, warmup=3)
    labels = [i % 10 for i in range(80)]
    eighty = timed_seconds(lambda: one_shot.one_shot_images(dataset, family, labels, 0, device), 5)
    return {"precision": "fp32", "one_image_ms": round(one * 1000, 2), "eighty_images_ms": round(eighty * 1000, 2),
            "ms_per_image_batch80": round(eighty * 1000 / 80, 3)}


COMPILE_MODES = ("default", "reduce-overhead", "max-autotune")  # torch.compile modes; reduce-overhead adds CUDA graphs


def bench_diffusion_cuda(dataset: str, batches: tuple[int, ...] = (256, 1024, 4096, 8192),
                         compile_mode: str | None = None) -> dict:
    """Guided images per second on CUDA at the default steps, for several batch sizes.

    ``compile_mode`` (one of COMPILE_MODES) compiles the cached network in place, in channels-last
    layout, for the rest of this process: the app itself runs eager. The first call of each batch
    size (compilation included) is timed apart from the measured ones.
    """
    device = torch.device("cuda")
    torch.backends.cudnn.benchmark = True  # pick the fastest convolution kernels for each batch size
    model = denoiser.get(dataset, device)
    settings = sampling.DEFAULTS
    if compile_mode is not None:
        _compile_in_place(registry.get(dataset, "diffusion", device).network, compile_mode)  # the Denoiser's own
    results, first_call_s = {}, {}
    for batch in batches:
        labels = [i % 10 for i in range(batch)]

        def run():
            model.images(labels, 0, settings)
            torch.cuda.synchronize(device)

        first_call_s[str(batch)] = round(timed_seconds(run, repeats=1, warmup=0), 2)
        seconds = timed_seconds(run, repeats=3)
        results[str(batch)] = round(batch / seconds, 1)
    best = max(results, key=results.get)
    return {"device": torch.cuda.get_device_name(device), "compile_mode": compile_mode or "eager",
            "precision": model.precision, "guidance_interval": model.interval(settings.guidance_steps),
            "images_per_s_by_batch": results, "first_call_s_by_batch": first_call_s,
            "images_per_s_batch256": results.get("256"), "best_batch": int(best), "best_images_per_s": results[best]}


def check_compile_mode(mode: str | None) -> str | None:
    """None (eager) or one of COMPILE_MODES, else a ValueError listing them."""
    if mode is not None and mode not in COMPILE_MODES:
        raise ValueError(f"Unknown compile mode {mode!r}. Known modes: {', '.join(COMPILE_MODES)}.")
    return mode


def _compile_in_place(network: torch.nn.Module, mode: str) -> None:
    check_compile_mode(mode)
    torch._dynamo.config.cache_size_limit = 64  # one graph per batch shape: B (one branch) and 2B (both)
    network.to(memory_format=torch.channels_last)
    network.compile(mode=mode, dynamic=False)


def run_bench(datasets: list[str], threads: int = 2, device: str = "auto", compile_mode: str | None = None) -> dict:
    """CPU figures always; CUDA throughput too when ``device`` resolves to CUDA."""
    torch.set_num_threads(threads)
    report = {"machine": machine_summary(), "cpu_capability": precision.cpu_capability(), "cpu_threads": threads,
              "precision_override": precision.requested(), "models": {}}
    for dataset in datasets:
        entry = {"diffusion_cpu": bench_diffusion_cpu(dataset)}
        if registry.is_shipped(dataset, "distilled"):
            entry["distilled_cpu"] = bench_diffusion_cpu(dataset, family="distilled")
        for family in one_shot.FAMILIES:
            if registry.is_shipped(dataset, family):
                entry[f"{family}_cpu"] = bench_one_shot_cpu(dataset, family)
        if compute_device(device).type == "cuda":
            key = "diffusion_cuda" + (f"-compiled-{compile_mode}" if compile_mode else "")
            entry[key] = bench_diffusion_cuda(dataset, compile_mode=compile_mode)
        report["models"][dataset] = entry
    report["precision"] = {d: e["diffusion_cpu"]["precision"] for d, e in report["models"].items()}
    return report


AVX2_ONLY = {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2"}  # torch's kernels limited to AVX2


def bench_emulated_avx2(datasets: list[str], threads: int, app: bool) -> dict:
    """The same CPU measurements in a child process whose torch kernels are limited to AVX2 (AVX2_ONLY):
    what an AVX2-only CPU (no AVX-512, no native bf16) does, measured in the same run as the native figures."""
    import json
    import subprocess
    import sys

    from explorer.data import PROJECT_ROOT

    command = [sys.executable, "-m", "explorer", "bench", "--no-write", "--device", "cpu", "--threads", str(threads)]
    command += [arg for d in datasets for arg in ("--dataset", d)] + (["--app-demos"] if app else [])
    done = subprocess.run(command, cwd=PROJECT_ROOT, env={**os.environ, **AVX2_ONLY}, capture_output=True,
                          text=True, check=True)
    return json.loads(done.stdout)


# ----------------------------------------------------------------------------- the app's tabs

def _first_and_total(stream) -> tuple[float, float]:
    """Seconds to the first streamed frame and to the end of a demo's stream."""
    start = time.perf_counter()
    first = None
    for _ in stream:
        first = first if first is not None else time.perf_counter() - start
    return first, time.perf_counter() - start


def bench_tabs(repeats: int = 5) -> dict:
    """Server-side time of each tab's main demo call at its defaults (new seeds: no cache hits)."""
    from explorer.demos import add_noise, remove_noise

    noise_s = timed_seconds(lambda: add_noise.add_noise(), repeats=20, warmup=2)
    _first_and_total(remove_noise.remove_noise_stream(seed=10_000))  # warm-up: loads the denoiser and the judge
    runs = [_first_and_total(remove_noise.remove_noise_stream(seed=10_001 + i)) for i in range(repeats)]
    report = {
        "add_noise_ms": round(noise_s * 1000, 1),
        "remove_noise_first_frame_s": round(statistics.median(r[0] for r in runs), 3),
        "remove_noise_total_s": round(statistics.median(r[1] for r in runs), 3),
    }
    report.update(_bench_guidance_and_compare_tabs(repeats))
    report.update(_bench_lesson_demos(repeats))
    return report


def _bench_lesson_demos(repeats: int) -> dict:
    """The demos inside the tabs and the Mistakes tab, each at its defaults with a new seed per repeat (the
    cache cannot answer)."""
    from explorer.demos import (
        ask_the_network,
        different_endings,
        finish_drawing,
        impossible_requests,
        odd_ones,
        switch_prompt,
        watch_it_learn,
    )

    demos = {"ask_the_network_s": lambda k: ask_the_network.ask_the_network(seed=k),
             "finish_drawing_s": lambda k: finish_drawing.finish_drawing(seed=k),  # a gallery picture, k = default
             "watch_it_learn_s": lambda k: watch_it_learn.watch_it_learn(seed=k),  # every snapshot's guess
             "different_endings_s": lambda k: different_endings.different_endings(first_seed=k),
             "switch_prompt_s": lambda k: switch_prompt.switch_prompt(seed=k),
             "odd_ones_out_64_s": lambda k: odd_ones.odd_ones_out(first_seed=k),  # the default: the fast copy
             "odd_ones_out_64_full_model_s": lambda k: odd_ones.odd_ones_out(first_seed=k, made_by="full model"),
             "impossible_request_s": lambda k: impossible_requests.impossible_request(first_seed=k)}
    report = {}
    for name, run in demos.items():
        run(40_000)  # warm-up
        report[name] = round(statistics.median(timed_seconds(lambda i=i: run(40_001 + 10 * i), 1, 0)
                                               for i in range(repeats)), 3)
    return report


def _bench_guidance_and_compare_tabs(repeats: int) -> dict:
    from explorer.demos import compare, guidance

    guidance.guidance_grid(first_seed=20_000)
    grid = [timed_seconds(lambda i=i: guidance.guidance_grid(first_seed=20_001 + 10 * i), 1, 0)
            for i in range(repeats)]
    compare.compare(first_seed=30_000)
    comp = [timed_seconds(lambda i=i: compare.compare(first_seed=30_001 + 10 * i), 1, 0) for i in range(repeats)]
    return {"guidance_grid_6x4_s": round(statistics.median(grid), 3), "compare_s": round(statistics.median(comp), 3)}


def bench_cold_start(timeout_s: float = 120.0) -> float:
    """Seconds from starting ``python app.py`` to its first page served."""
    import socket
    import subprocess
    import sys
    import urllib.request

    from explorer.data import PROJECT_ROOT

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "app.py", "--port", str(port)], cwd=PROJECT_ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while time.perf_counter() - start < timeout_s:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as response:
                    if response.status == 200:
                        return round(time.perf_counter() - start, 2)
            except OSError:
                time.sleep(0.1)
        raise TimeoutError(f"app.py served nothing within {timeout_s} s")
    finally:
        proc.terminate()
        proc.wait(timeout=30)
