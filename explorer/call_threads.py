"""How many CPU threads one network call runs on: all of torch's threads, or one for small calls where a second
thread buys nothing.

Owns: ``EXPLORER_CALL_THREADS`` (auto | all | one; anything else is a ValueError naming the allowed values), the
threads a large call runs on (``most``: torch's count, unless a server set its own with ``set_most`` to run all
else on one), the rule for ``auto`` (``choose``), and ``running_on``, the context that runs one call on a number
of threads and gives the calling thread its count back after. The rule: on the CPU, with more than one thread for
large calls, a short measurement of the real network at each batch size of ``PROBE_BATCHES``, each in the
precision a call of that size runs in (explorer.precision), on one thread and on all; calls smaller than twice
the largest probed size at which one thread is at most ``MARGIN`` slower (and at every smaller probed size) run
on one thread (``one_thread_below``; 0: never). Once per process, device and kind of network (its class and
parameter count), then cached.
Does not know: what the network computes, the server. torch keeps a thread count per calling thread (OpenMP), so
a call on one thread leaves the counts of other threads' calls as they are.

Why: a call on fewer threads leaves a core to the rest of a busy server (the other students' steps, their pictures,
the page). Measured 2026-12-03 on a 2-vCPU Intel Xeon with AVX-512-BF16 and AMX, the median of 7 forwards of the
28×28 U-Net on one / two threads: 8 pictures in fp32 51-54 / 48 ms, 16 in bf16 48-52 / 51 ms, 32 in bf16 86 / 74
ms, 64 in bf16 160-172 / 113 ms; the same machine limited to AVX2 (fp32): 1 picture 12 / 18 ms, 2 pictures 22 /
22-26 ms, 8 pictures 67-75 / 48-50 ms. ``MARGIN``: a call may be this much slower on one thread, for the core it
frees.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import torch
from torch import nn

from explorer import precision as precisions

SETTINGS = ("auto", "all", "one")
ENV_VAR = "EXPLORER_CALL_THREADS"
PROBE_BATCHES = (2, 8, 32)  # a student's guided step, a few students' shared call, a class's
MARGIN = 1.25
NEVER = 0  # one_thread_below: no call runs on one thread
ALWAYS = 2**31 - 1  # ... every call does

_most: list[int] = []  # the threads a large call runs on, when the process set it (set_most); else torch's count
_chosen: dict[tuple, int] = {}  # (device type, network kind, precision choice, threads) → one_thread_below
_lock = threading.Lock()


def requested() -> str:
    """``$EXPLORER_CALL_THREADS`` (default auto), checked."""
    return precisions.setting(ENV_VAR, SETTINGS, "a thread setting")


def set_most(threads: int) -> None:
    """Large calls run on ``threads`` threads from now on, whatever torch's count for other work."""
    _most[:] = [threads]


def most() -> int:
    """The threads a large call runs on: as set by ``set_most``, else torch's count of the calling thread."""
    return _most[0] if _most else torch.get_num_threads()


def choose(device: torch.device, network: nn.Module, choice: precisions.Choice,
           timer: Callable[[nn.Module, torch.device, str, int, int], float] | None = None) -> int:
    """The batch size below which ``network``'s calls on ``device`` run on one thread (0: never; a very large number:
    always). ``timer(network, device, precision, images, threads)`` replaces the measurement (tests)."""
    setting = requested()
    threads = most()
    if device.type != "cpu" or threads == 1 or setting == "all":
        return NEVER
    if setting == "one":
        return ALWAYS
    key = (device.type, precisions.network_kind(network), choice, threads)
    with _lock:
        if key not in _chosen:
            _chosen[key] = _measure(device, network, choice, threads, timer or _seconds_per_forward)
        return _chosen[key]


def forget_choices() -> None:
    """Drop the cached decisions (tests, or after the environment changed)."""
    with _lock:
        _chosen.clear()


@contextmanager
def running_on(threads: int) -> Iterator[None]:
    """Run the block on ``threads`` torch threads, then restore the calling thread's count."""
    before = torch.get_num_threads()
    if threads == before:
        yield
        return
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def threads_for(images: int, one_thread_below: int) -> int:
    """The threads a call of ``images`` runs on: 1 below ``one_thread_below``, else ``most()``."""
    return 1 if images < one_thread_below else most()


def _measure(device: torch.device, network: nn.Module, choice: precisions.Choice, threads: int, timer) -> int:
    below = NEVER
    for images in PROBE_BATCHES:
        precision = choice.for_batch(images)
        if timer(network, device, precision, images, 1) > MARGIN * timer(network, device, precision, images, threads):
            break
        below = 2 * images
    return below


def _seconds_per_forward(network: nn.Module, device: torch.device, precision: str, images: int, threads: int) -> float:
    """explorer.precision's timing of a batch of ``images`` (the fastest of a few forwards), on ``threads`` threads."""
    with running_on(threads):
        return precisions.seconds_per_forward(network, device, precision == "bf16", images)
