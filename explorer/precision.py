"""The one decision of the compute precision (fp32 or bf16) per device, for inference and training.

Owns: ``EXPLORER_PRECISION`` (auto | fp32 | bf16; anything else is a ValueError naming the allowed
values), the rule for ``auto``, the autocast context that applies a choice, and naming the CPU's
kernel capability for reports.

The rule for ``auto``:
- CUDA: bf16 where ``torch.cuda.is_bf16_supported()``, else fp32.
- CPU without native bf16 kernels (oneDNN reports none: no AVX512-BF16 / AMX): fp32, unmeasured.
  There bf16 autocast is emulated; measured on a 2-core AVX2-only EPYC, one guided image took
  4.70 s in bf16 against 0.29 s in fp32, and the U-Net at batch 160 16 s against 0.8 s.
- CPU with bf16 kernels: a short measurement of the real network (a few forwards of a batch of
  ``PROBE_BATCH`` in each precision, the fastest of each kept), bf16 only if it is at least
  ``BF16_MARGIN`` faster. Tens of milliseconds, once per process and device, then cached.

Does not know: what the network is, sampling, the UI.
"""

from __future__ import annotations

import os
import threading
import time
from contextlib import nullcontext
from typing import Callable

import torch
from torch import nn

PRECISIONS = ("auto", "fp32", "bf16")
ENV_VAR = "EXPLORER_PRECISION"
PROBE_BATCH = 8  # images per timed forward (a guided batch of 4): between a single picture and a grid
PROBE_REPEATS = 2
BF16_MARGIN = 1.1  # bf16 must be this many times faster than fp32 to be chosen

_chosen: dict[str, str] = {}  # device type → the decision of ``auto``, once per process
_lock = threading.Lock()


def requested() -> str:
    """``$EXPLORER_PRECISION`` (default auto), checked."""
    value = (os.environ.get(ENV_VAR) or "auto").strip().lower()
    if value not in PRECISIONS:
        raise ValueError(f"{ENV_VAR}={os.environ.get(ENV_VAR)!r} is not a precision; "
                         f"use one of: {', '.join(PRECISIONS)}.")
    return value


def cpu_capability() -> str:
    """The CPU kernels torch runs with ("AVX2", "AVX512", …), and whether oneDNN has native bf16."""
    bf16 = "with bf16" if cpu_has_bf16_kernels() else "no bf16"
    return f"{torch.backends.cpu.get_cpu_capability()} ({bf16})"


def cpu_has_bf16_kernels() -> bool:
    return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())


def choose(device: torch.device, network: nn.Module | None = None,
           timer: Callable[[nn.Module, torch.device, bool], float] | None = None) -> str:
    """"fp32" or "bf16" for ``device``: the override, else the rule for auto (see the module docstring).

    ``network`` is what the CPU measurement times (forward(x, t, y) of a 28×28 denoiser); without
    one, a CPU with bf16 kernels gets fp32. ``timer`` replaces the measurement (tests).
    """
    override = requested()
    if override != "auto":
        return override
    if device.type == "cpu" and network is None:
        return "fp32"  # nothing to measure: the safe choice, not cached (a later call may measure)
    with _lock:
        if device.type not in _chosen:
            _chosen[device.type] = _auto(device, network, timer or _seconds_per_forward)
        return _chosen[device.type]


def forget_choices() -> None:
    """Drop the cached decisions (tests, or after the environment changed)."""
    with _lock:
        _chosen.clear()


def autocast(device: torch.device, precision: str):
    """The context that runs ops in ``precision`` on ``device`` (nothing for fp32)."""
    if precision == "bf16":
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return nullcontext()


def _auto(device: torch.device, network: nn.Module | None, timer) -> str:
    if device.type == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp32"
    if device.type != "cpu" or not cpu_has_bf16_kernels():
        return "fp32"
    fp32, bf16 = timer(network, device, False), timer(network, device, True)
    return "bf16" if bf16 * BF16_MARGIN <= fp32 else "fp32"


def _seconds_per_forward(network: nn.Module, device: torch.device, bf16: bool) -> float:
    """The fastest of PROBE_REPEATS forwards of a PROBE_BATCH batch (after one warm-up)."""
    x = torch.zeros(PROBE_BATCH, 1, 28, 28, device=device)  # (B, 1, 28, 28)
    t = torch.full((PROBE_BATCH,), 500, device=device, dtype=torch.long)  # (B,)
    y = torch.zeros(PROBE_BATCH, device=device, dtype=torch.long)  # (B,)
    ctx = autocast(device, "bf16" if bf16 else "fp32")
    best = float("inf")
    with torch.inference_mode(), ctx:
        for i in range(PROBE_REPEATS + 1):
            start = time.perf_counter()
            network(x, t, y)
            if i:
                best = min(best, time.perf_counter() - start)
    return best
