"""Shared network calls: rows that several requests of one flow want from the same network at the same moment
go through it together, as one batch.

Owns: ``run`` (one caller's rows → the network's output for them), the seats waiting per flow, network and
precision, and who drives a shared call: the caller whose turn at the network comes (explorer.server.turns)
takes its own seat and then every other seat waiting for the same network and precision, first come, up to
``MAX_ROWS`` rows (after waiting up to LINGER_S for the callers seen there in the last MEMBER_S that have not
taken a seat yet: a run whose rows just came back is a few milliseconds of sampler maths from its next call), runs
them in one forward and hands each seat its own rows; a caller whose rows rode in
someone else's call returns as soon as they are back, without a turn of its own. Work outside any flow
(the command line, tests) runs alone, as before.
Does not know: guidance, schedules, samplers, the UI; what a "flow" serves (explorer.server.serving says).

Why: when a class presses "Remove noise" together, the server runs several of their requests at once in
one flow; each wants one or two pictures through the network per step. The 28×28 U-Net costs about as much
for one picture as for several (measured, AVX2 fp32: ~9 ms for 1, ~13 ms for 2, ~4 ms a picture in
batches of 30), so their rows ride together instead of queueing one small call behind another. A picture's
rows give the same numbers alone or among others (bf16: exactly; fp32: within a few 1e-6, measured). The wait of
LINGER_S: 30 students on Remove noise at once (2026-12-03, a 2-vCPU Xeon, natively), the last picture 9.02 / 9.52
→ 8.71 / 9.07 s and the network busy 10.5 / 10.6 → 9.5 / 9.4 s (without / with, alternating twice).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from explorer.server import turns

LINGER_S = 0.005  # how long a call waits for the callers of its place that have not taken their seat yet
MEMBER_S = 0.25  # a caller seen at a place this recently is expected back (a run's steps are ~0.1 s apart)
PLACES_KEPT = 64  # past this many places, those whose callers are all gone are forgotten
MAX_ROWS = 256  # rows per shared forward (explorer.denoiser.MAX_NETWORK_BATCH: one caller's chunk fits alone)
Forward = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]
# a network call: x (B, 1, 28, 28), t (B,), y (B,) → (B, ...)


@dataclass(eq=False)
class _Seat:
    """One caller's rows and, once its call is done, their output or the error the call raised."""

    x: torch.Tensor  # (B, 1, 28, 28)
    t: torch.Tensor  # (B,)
    y: torch.Tensor  # (B,)
    out: torch.Tensor | None = None  # (B, ...)
    error: BaseException | None = None
    done: threading.Event = field(default_factory=threading.Event)

    @property
    def rows(self) -> int:
        return self.x.shape[0]


class SharedCalls:
    """The seats waiting for a network call; one per process (``SHARED``), separate ones in tests."""

    def __init__(self, flows: turns.Turns | None = None, max_rows: int = MAX_ROWS) -> None:
        self._flows = flows  # None: the process's turns (explorer.server.turns.TURNS)
        self.max_rows = max_rows
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._waiting: dict[tuple, list[_Seat]] = {}  # (flow, network, precision) → seats, first come first
        self._members: dict[tuple, dict[object, float]] = {}  # place → caller → when it last asked

    def run(self, key: tuple, forward: Forward, x: torch.Tensor, t: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """``forward(x, t, y)`` for these rows, in one call with the rows of other callers of the same flow
        and ``key`` (the network and its precision) that are waiting at the same moment."""
        flow = turns.current_flow()
        if flow is None:
            return forward(x, t, y)
        seat = _Seat(x, t, y)
        place = (flow, *key)
        with self._lock:
            self._waiting.setdefault(place, []).append(seat)
            self._note_member(place, turns.current_caller())
            self._arrived.notify_all()
        flows = self._flows or turns.TURNS
        with flows.turn(flow, unless=seat.done.is_set):
            if not seat.done.is_set():
                self._gather(place)
                self._drive(forward, self._board(place, seat))
        if seat.error is not None:
            raise seat.error
        return seat.out

    def _note_member(self, place: tuple, caller: object) -> None:
        """``caller`` asked at ``place`` now (under the lock); places whose callers are all gone are forgotten."""
        now = time.monotonic()
        self._members.setdefault(place, {})[caller] = now
        if len(self._members) > PLACES_KEPT:
            for gone in [p for p, seen in self._members.items() if now - max(seen.values()) > MEMBER_S]:
                del self._members[gone]

    def _gather(self, place: tuple) -> None:
        """Wait up to LINGER_S for the callers of ``place`` seen in the last MEMBER_S to take their seats."""
        deadline = time.monotonic() + LINGER_S
        with self._lock:
            while True:
                now = time.monotonic()
                members = self._members.get(place, {})  # forgotten meanwhile (a long wait for the turn): no one
                for gone in [k for k, seen in members.items() if now - seen > MEMBER_S]:
                    del members[gone]
                if len(self._waiting.get(place, ())) >= len(members) or now >= deadline:
                    return
                self._arrived.wait(deadline - now)

    def _board(self, place: tuple, own: _Seat) -> list[_Seat]:
        """``own`` seat, then the others waiting at ``place`` in order of arrival while they fit in max_rows."""
        with self._lock:
            waiting = self._waiting[place]
            waiting.remove(own)
            riders, rows = [own], own.rows
            for seat in list(waiting):
                if rows + seat.rows > self.max_rows:
                    break
                waiting.remove(seat)
                riders.append(seat)
                rows += seat.rows
            if not waiting:
                del self._waiting[place]
            return riders

    @staticmethod
    def _drive(forward: Forward, riders: list[_Seat]) -> None:
        """One forward for every rider's rows; each gets its own part back (or the error), then is done."""
        try:
            if len(riders) == 1:
                riders[0].out = forward(riders[0].x, riders[0].t, riders[0].y)
            else:
                out = forward(torch.cat([s.x for s in riders]), torch.cat([s.t for s in riders]),
                              torch.cat([s.y for s in riders]))  # (sum of rows, ...)
                for seat, part in zip(riders, out.split([s.rows for s in riders])):
                    seat.out = part
        except BaseException as error:  # every rider hears of it, in its own thread
            for seat in riders:
                seat.error = error
        finally:
            for seat in riders:
                seat.done.set()


SHARED = SharedCalls()


def run(key: tuple, forward: Forward, x: torch.Tensor, t: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """``SharedCalls.run`` with the process's seats and turns."""
    return SHARED.run(key, forward, x, t, y)
