"""Turns at the network: work that wants the denoiser at the same moment takes turns, call by call, fairly by time.

Owns: the one lock around every denoiser call of work that runs inside a *flow* (``Turns.turn``), the
current flow of a thread and who in it is calling (``in_flow``, ``flow``, ``current_caller``), and the rule for
who goes next: each flow is charged the seconds its calls take, and when the network frees up, the waiting
call of the flow charged least goes first (ties: first come), and a flow charged less that has just made a call is
waited for a moment (GRACE_S) before the network goes to one charged more. A *background* flow (work
nobody waits for yet) gets the network only when no other flow wants it. A flow that comes back
after IDLE_S without a call starts level with the least-charged flow still at work: it neither pays for old
work nor saves up credit; so past FLOWS_KEPT flows, those idle that long are forgotten (one flow per client
address stays bounded).
Does not know: Gradio, requests or sessions; the server names the flows (one per concurrency group and
client address, and one for the openings it makes in the background). Work outside any flow (the command
line, tests) takes no turns and waits for no one.

Why: the server runs a many-picture request (a guidance grid, 64 pictures at once) beside a quick one
(a student's Remove-noise run) in two groups. Taking turns call by call, charged by time, the quick
run gets the network for most of its short calls while the big request waits at most one of its own
calls, so no request holds the model while a student waits, and the two together still never run two
network calls at once on a CPU whose cores one call already uses.
"""

from __future__ import annotations

import contextvars
import functools
import inspect
import itertools
import math
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

IDLE_S = 1.0  # a flow without a call for this long is back "new" when it calls again
FLOWS_KEPT = 64  # past this many flows, the idle ones are forgotten (one flow per client address and group)
GRACE_S = 0.03  # how long the network is kept free for a less-charged flow that has just made a call
# (a quick run does a little work between its calls; without the grace, the big request's next call,
# already waiting, would take every gap, and the quick run would get one call per big call)

_current: contextvars.ContextVar[str | None] = contextvars.ContextVar("network_flow", default=None)
_caller: contextvars.ContextVar[object | None] = contextvars.ContextVar("network_caller", default=None)
_background: set[str] = set()  # flows that get the network only when no other flow is waiting for it


class Turns:
    """The lock and the charges; one per process (``TURNS``), separate ones in tests."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._busy = False
        self._charged: dict[str, float] = {}  # flow → seconds of network time charged
        self._last_call: dict[str, float] = {}  # flow → time.monotonic() its last call ended
        self._waiting: list[tuple[int, str]] = []  # (arrival, flow) of the calls waiting
        self._arrivals = itertools.count()

    @contextmanager
    def turn(self, flow: str | None = None, unless: Callable[[], bool] | None = None) -> Iterator[bool]:
        """Hold the network for one call of ``flow`` (default: the thread's current flow; None: no turn).

        ``unless``: checked while waiting (whenever a call ends); once it is true the wait ends without a
        turn, and the block gets False (True when it holds the turn, or needs none).
        """
        flow = flow if flow is not None else _current.get()
        if flow is None:
            yield True
            return
        ticket = self._wait_for_turn(flow, unless)
        if ticket is None:
            yield False
            return
        start = time.perf_counter()
        try:
            yield True
        finally:
            self._end_turn(ticket[1], time.perf_counter() - start)

    def charged(self, flow: str) -> float:
        with self._cond:
            return self._charged.get(flow, 0.0)

    def _wait_for_turn(self, flow: str, unless: Callable[[], bool] | None) -> tuple[int, str] | None:
        with self._cond:
            self._level_if_back(flow)
            ticket = (next(self._arrivals), flow)
            self._waiting.append(ticket)
            while True:
                if unless is not None and unless():
                    self._waiting.remove(ticket)
                    self._cond.notify_all()  # the next in line may be waiting behind this ticket
                    return None
                if self._busy or self._next() != ticket:
                    self._cond.wait()
                    continue
                grace = self._grace_for(flow)
                if grace <= 0:
                    break
                self._cond.wait(grace)
            self._waiting.remove(ticket)
            self._busy = True
            return ticket

    def _end_turn(self, flow: str, seconds: float) -> None:
        with self._cond:
            self._charged[flow] += seconds
            self._last_call[flow] = time.monotonic()
            self._busy = False
            if len(self._charged) > FLOWS_KEPT:
                self._forget_idle(but=flow)
            self._cond.notify_all()

    def _forget_idle(self, but: str) -> None:
        """Drop flows (other than ``but``) idle for IDLE_S with no call waiting: one that comes back is levelled
        anyway."""
        now, keep = time.monotonic(), {f for _, f in self._waiting} | {but}
        for idle in [f for f, ended in self._last_call.items() if now - ended > IDLE_S and f not in keep]:
            del self._last_call[idle], self._charged[idle]

    def _grace_for(self, flow: str) -> float:
        """Seconds to leave the network free for a flow charged less than ``flow`` that made a call
        less than GRACE_S ago (0: go now)."""
        now = time.monotonic()
        soon = [GRACE_S - (now - ended) for other, ended in self._last_call.items()
                if other != flow and now - ended < GRACE_S and other not in _background
                and (flow in _background or self._charged[other] < self._charged[flow])]
        return max(soon, default=0.0)

    def _next(self) -> tuple[int, str]:
        return min(self._waiting, key=lambda ticket: (ticket[1] in _background, self._charged[ticket[1]], ticket[0]))

    def _level_if_back(self, flow: str) -> None:
        now = time.monotonic()
        if now - self._last_call.get(flow, -math.inf) <= IDLE_S or any(f == flow for _, f in self._waiting):
            return
        at_work = [self._charged[f] for f, ended in self._last_call.items() if f != flow and now - ended <= IDLE_S]
        at_work += [self._charged[f] for _, f in self._waiting if f != flow]
        self._charged[flow] = min(at_work) if at_work else 0.0


TURNS = Turns()


def current_flow() -> str | None:
    """The flow the calling thread's network calls run in (None: outside any flow)."""
    return _current.get()


def current_caller() -> object | None:
    """Who is calling within the flow: one token per run of a function wrapped by ``in_flow`` (the same in every step
    of a generator, whichever thread runs it), or per ``flow`` block otherwise (None: outside any flow)."""
    return _caller.get()


@contextmanager
def flow(name: str, background: bool = False, caller: object | None = None) -> Iterator[None]:
    """Run the block's network calls in flow ``name`` as ``caller`` (default: a new token for this block); a
    ``background`` flow gets the network only when no other flow is waiting for it (work nobody is waiting for,
    such as examples made ahead of time)."""
    if background:
        _background.add(name)
    token = _current.set(name)
    caller_token = _caller.set(caller if caller is not None else object())
    try:
        yield
    finally:
        _caller.reset(caller_token)
        _current.reset(token)


def in_flow(name: str | Callable[[], str], fn: Callable) -> Callable:
    """``fn`` (a function or a generator function) running its network calls in flow ``name`` (or the name
    ``name()`` gives when the call, or each step of a generator, starts: e.g. from the request being served).

    A generator's every step sets the flow itself: a server may run each step in another thread; every step runs as
    the same caller (``current_caller``).
    The signature stays ``fn``'s (``functools.wraps``), so a framework that reads it sees no change.
    """
    def named() -> str:
        return name() if callable(name) else name

    if inspect.isgeneratorfunction(fn):
        @functools.wraps(fn)
        def steps(*args, **kwargs):
            inner, caller = fn(*args, **kwargs), object()
            try:
                while True:
                    with flow(named(), caller=caller):
                        try:
                            item = next(inner)
                        except StopIteration as stop:
                            return stop.value
                    yield item
            finally:
                inner.close()
        return steps

    @functools.wraps(fn)
    def call(*args, **kwargs):
        with flow(named()):
            return fn(*args, **kwargs)
    return call
