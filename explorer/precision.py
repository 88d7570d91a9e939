"""The one decision of the compute precision (fp32 or bf16) per device, for inference and training.

Owns: ``EXPLORER_PRECISION`` (auto | fp32 | bf16; anything else is a ValueError naming the allowed
values), the rule for ``auto``, the autocast context that applies a choice, the batch size below which a
bf16 choice still runs fp32 (``Choice``), and naming the CPU's kernel capability for reports.

The rule for ``auto``:
- CUDA: bf16 where ``torch.cuda.is_bf16_supported()``, else fp32, at every batch size.
- CPU without native bf16 kernels (oneDNN reports none: no AVX512-BF16 / AMX): fp32, unmeasured.
  There bf16 autocast is emulated; measured on a 2-core AVX2-only EPYC, one guided image took
  4.70 s in bf16 against 0.29 s in fp32, and the U-Net at batch 160 16 s against 0.8 s.
- CPU with bf16 kernels: a short measurement of the real network at each batch size of ``PROBE_BATCHES``
  (a few forwards in each precision, the fastest of each kept). bf16 is chosen if it is at least
  ``BF16_MARGIN`` faster at the largest size; then batches smaller than the smallest size from which bf16
  wins at every larger probed size still run in fp32 (``Choice.fp32_below``). Why: on a 2-core Intel Xeon
  with AVX-512-BF16 and AMX (2026-12-03) the full denoiser took 7.0 ms in fp32 against 9.5 ms in bf16 for
  one picture but 362 against 162 ms for 128, and its fast copy 4.2 against 6.6 ms for one picture: one
  student's steps are single pictures, a class's shared calls are large batches. About a second, once per
  process, device and kind of network (its class and parameter count), then cached.

Does not know: what the network is, sampling, the UI.
"""

from __future__ import annotations

import os
import threading
import time
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn

PRECISIONS = ("auto", "fp32", "bf16")
ENV_VAR = "EXPLORER_PRECISION"
PROBE_BATCHES = (1, 4, 16, 64)  # images per timed forward: one picture … a class's shared call
PROBE_REPEATS = 2
BF16_MARGIN = 1.1  # bf16 must be this many times faster than fp32 to be chosen


@dataclass(frozen=True)
class Choice:
    """A precision decision: ``precision`` for large batches, and fp32 below ``fp32_below`` images (0: never)."""
    precision: str  # "fp32" or "bf16"
    fp32_below: int = 0

    def for_batch(self, images: int) -> str:
        """The precision a forward of ``images`` images runs in."""
        return "fp32" if images < self.fp32_below else self.precision


_chosen: dict[tuple, Choice] = {}  # (device type, network kind) → the decision of ``auto``, once per process
_lock = threading.Lock()


def requested() -> str:
    """``$EXPLORER_PRECISION`` (default auto), checked."""
    return setting(ENV_VAR, PRECISIONS, "a precision")


def setting(env_var: str, allowed: tuple[str, ...], what: str) -> str:
    """``$env_var`` (default ``allowed[0]``), lower-cased; a ValueError naming the allowed values otherwise."""
    value = (os.environ.get(env_var) or allowed[0]).strip().lower()
    if value not in allowed:
        raise ValueError(f"{env_var}={os.environ.get(env_var)!r} is not {what}; use one of: {', '.join(allowed)}.")
    return value


def cpu_capability() -> str:
    """The CPU kernels torch runs with ("AVX2", "AVX512", …), and whether oneDNN has native bf16."""
    bf16 = "with bf16" if cpu_has_bf16_kernels() else "no bf16"
    return f"{torch.backends.cpu.get_cpu_capability()} ({bf16})"


def cpu_has_bf16_kernels() -> bool:
    return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())


def choose(device: torch.device, network: nn.Module | None = None,
           timer: Callable[[nn.Module, torch.device, bool, int], float] | None = None) -> Choice:
    """The precision decision for ``device``: the override, else the rule for auto (see the module docstring).

    ``network`` is what the CPU measurement times (forward(x, t, y) of a 28×28 denoiser); without
    one, a CPU with bf16 kernels gets fp32. ``timer(network, device, bf16, images)`` replaces the measurement
    (tests).
    """
    override = requested()
    if override != "auto":
        return Choice(override)
    if device.type == "cpu" and network is None:
        return Choice("fp32")  # nothing to measure: the safe choice, not cached (a later call may measure)
    key = (device.type, network_kind(network))
    with _lock:
        if key not in _chosen:
            _chosen[key] = _auto(device, network, timer or seconds_per_forward)
        return _chosen[key]


def network_kind(network: nn.Module | None) -> tuple:
    """Networks of one class and size share a decision (e.g. the snapshots of one training run)."""
    if network is None:
        return ()
    return type(network).__name__, sum(p.numel() for p in network.parameters())


def forget_choices() -> None:
    """Drop the cached decisions (tests, or after the environment changed)."""
    with _lock:
        _chosen.clear()


def autocast(device: torch.device, precision: str):
    """The context that runs ops in ``precision`` on ``device`` (nothing for fp32)."""
    if precision == "bf16":
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return nullcontext()


def _auto(device: torch.device, network: nn.Module | None, timer) -> Choice:
    if device.type == "cuda":
        return Choice("bf16" if torch.cuda.is_bf16_supported() else "fp32")
    if device.type != "cpu" or not cpu_has_bf16_kernels():
        return Choice("fp32")
    wins = [timer(network, device, True, n) * BF16_MARGIN <= timer(network, device, False, n) for n in PROBE_BATCHES]
    if not wins[-1]:
        return Choice("fp32")
    first = len(wins) - 1
    while first > 0 and wins[first - 1]:
        first -= 1
    return Choice("bf16", fp32_below=PROBE_BATCHES[first] if first else 0)


def seconds_per_forward(network: nn.Module, device: torch.device, bf16: bool, images: int) -> float:
    """The fastest of PROBE_REPEATS forwards of a batch of ``images`` (after one warm-up)."""
    x = torch.zeros(images, 1, 28, 28, device=device)  # (B, 1, 28, 28)
    t = torch.full((images,), 500, device=device, dtype=torch.long)  # (B,)
    y = torch.zeros(images, device=device, dtype=torch.long)  # (B,)
    ctx = autocast(device, "bf16" if bf16 else "fp32")
    best = float("inf")
    with torch.inference_mode(), ctx:
        for i in range(PROBE_REPEATS + 1):
            start = time.perf_counter()
            network(x, t, y)
            if i:
                best = min(best, time.perf_counter() - start)
    return best
