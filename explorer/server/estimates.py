"""Honest waiting times for model requests: the ETA a page shows, from what requests like it really took.

Owns: the expected duration of one model event, learned from the events that finished before it,
and the estimates Gradio sends for the model groups (a waiting event's rank and ETA,
and the expected duration when it starts), computed from those expectations instead of Gradio's.
Does not know: the tabs, the models or the maths; it gets the app's ``gr.Blocks`` after
``demo.queue(...)`` and the names of the model groups.

Why. Gradio 6.31 (``gradio/queueing.py``) expects every event of one handler to take that handler's
average time so far. A model request's cost depends on its settings (80 DDPM steps cost 5× the
default 16; a 6 × 8 guidance grid 2× a 6 × 4 one) and on whether the app's own cache already holds its
answer (then it takes milliseconds), so that average promised a default request behind costly ones
far too short a wait, and a costly one far too short a run. Here an event is expected to take:

- if the same request (same handler, every input the same) finished recently: what such repeats
  took (the app answers them from its cache);
- else, if a request with the same settings finished before (every input but the seeds the same:
  which static a run starts from does not change its cost): the latest such durations, averaged;
- else the handler's fresh requests' average time per unit of work, times this request's units: a tab
  declares how its handler's work grows with its settings (``declare_units``: e.g. the number of steps,
  or pictures × steps), else every request of a handler counts as one unit; with no history at all,
  no ETA (Gradio shows none).

Seeds are declared with the event when a tab wires it (``declare_units(api_name, seeds=[component])``):
the inputs that are those components count as seeds.

Durations are the machine's time an event had, not its wall-clock time: model events that run at once
share one network (their calls ride together or take turns: explorer.server.shared_calls, explorer.server.turns), so
each is charged the time it ran divided by how many ran beside it. A waiting event's ETA is the time
the running events still need, plus the expected durations of the events ahead of it in its group,
plus its own times the number of runs it will share the machine with: itself and the ones waiting
behind it that will start while it runs, or as many as recent runs had if more (a class's requests
come in bursts, and the first of a burst is queued before the rest arrive), up to the group's slots.
One starting is told its own duration times the number it can expect to run beside (as many as run
now with those waiting that will join it, or as many as recent runs had, ``crowding``, whichever is
more). Both are meant to err long: runs side by side share network calls and finish sooner together
than one after another.

A message (an estimate, a start, an end) for a session whose message queue is gone (Gradio keeps a
bounded number of them) is skipped: sending it would raise KeyError, and inside Gradio's worker loop
that stops the queue for everyone.
"""

from __future__ import annotations

import json
import time
from collections import OrderedDict, defaultdict, deque
from collections.abc import Callable, Iterable
from typing import Any

from explorer.server import gradio_hooks as hooks

STALE_S = 60.0  # a run started (or ended) longer ago no longer counts as sharing the machine
# (a cancelled run never reports its end)
RECENT_CROWDS = 64  # finished runs whose crowding (wall time ÷ share) is remembered
RECENT = 512  # requests remembered as "seen": a repeat of one of these is answered from the app's cache
SAME_SETTINGS_KEPT = 5  # durations averaged per group of same settings (the latest)
Units = Callable[..., float]  # a handler's inputs (by parameter name) → its units of work
_declared: dict[str, Units] = {}  # api_name → units, declared by the tabs while the app is built
_seeds: dict[str, tuple] = {}  # api_name → its seed components, declared by the tabs while the app is built


def declare_units(api_name: str, units: Units | None = None, seeds: Iterable[Any] = ()) -> None:
    """Say, when a tab wires the model event called ``api_name``, how its handler's work grows with its inputs
    (``units``, called with them by name; extra ones arrive in ``**rest``; requests whose inputs ``units``
    refuses count as one unit) and which of its input components are seeds (``seeds``: they choose the
    static a run starts from, never its cost)."""
    if units is not None:
        _declared[api_name] = units
    _seeds[api_name] = tuple(seeds)


class Expectations:
    """Expected durations of one queue's model events, learned from the ones that finished."""

    def __init__(self, seed_inputs: dict[Any, set[int]], units: dict[Any, Callable[[list], float]] | None = None):
        self.seed_inputs = seed_inputs  # handler (BlockFunction) → positions of its seed inputs
        self.units = units or {}  # handler → its inputs (a list) → units of work (default 1)
        self.started: dict[str, tuple[float, tuple, tuple]] = {}  # event id → (start, settings key, request key)
        self.share: dict[str, float] = {}  # event id → seconds of the machine's time it has had so far
        self._last: float | None = None  # when the shares were last brought up to date (time.monotonic())
        self.crowds: deque[tuple[float, float]] = deque(maxlen=RECENT_CROWDS)  # (ended, wall time ÷ share)
        self.seen: OrderedDict[tuple, None] = OrderedDict()  # request keys of finished fresh requests
        self.same_settings: OrderedDict[tuple, deque[float]] = OrderedDict()  # the RECENT latest settings
        self.fresh: dict[Any, _Mean] = defaultdict(_Mean)  # handler → mean seconds per unit of fresh requests
        self.repeats: dict[Any, _Mean] = defaultdict(_Mean)  # handler → mean duration of repeated requests

    def keys(self, event: Any) -> tuple[tuple, tuple]:
        """(settings key, request key) of ``event``: its handler and inputs, without and with the seeds."""
        data = hooks.event_inputs(event)
        seeds = self.seed_inputs.get(event.fn, set())
        settings = tuple(_text(v) for i, v in enumerate(data) if i not in seeds)
        return (id(event.fn), settings), (id(event.fn), tuple(_text(v) for v in data))

    def expected(self, event: Any) -> float | None:
        """Seconds ``event`` is expected to run, or None when nothing like it has finished yet."""
        settings, request = self.keys(event)
        if request in self.seen and self.repeats[event.fn].count:
            return self.repeats[event.fn].value
        if self.same_settings.get(settings):
            durations = self.same_settings[settings]
            return sum(durations) / len(durations)
        per_unit = self.fresh[event.fn]
        return per_unit.value * self.work(event) if per_unit.count else None

    def work(self, event: Any) -> float:
        """``event``'s units of work (1 when its handler declared none or its inputs make no sense)."""
        units = self.units.get(event.fn)
        try:
            value = float(units(hooks.event_inputs(event))) if units else 1.0
        except Exception:  # a bad value: the handler refuses it at once
            return 1.0
        return value if value > 0 else 1.0

    def start(self, event: Any) -> None:
        now = time.monotonic()
        self._accrue(now)
        _keep_recent(self.started, hooks.event_id(event), (now, *self.keys(event)))  # a cancelled run never ends
        self.share[hooks.event_id(event)] = 0.0

    def finish(self, event: Any, success: bool) -> None:
        """Learn from a finished event (a failed one teaches nothing about the cost of a picture)."""
        now = time.monotonic()
        self._accrue(now)
        name = hooks.event_id(event)
        begun, seconds = self.started.pop(name, None), self.share.pop(name, None)
        if begun is None or seconds is None or not success:
            return
        start, settings, request = begun
        if seconds > 0:
            self.crowds.append((now, (now - start) / seconds))
        if request in self.seen:
            self.repeats[event.fn].add(seconds)
            return
        durations = self.same_settings.pop(settings, None) or deque(maxlen=SAME_SETTINGS_KEPT)
        durations.append(seconds)
        _keep_recent(self.same_settings, settings, durations)
        self.fresh[event.fn].add(seconds / self.work(event))
        _keep_recent(self.seen, request, None)

    def remaining(self, event: Any) -> float | None:
        """Seconds of the machine's time a running ``event`` still needs (0 if it is overdue), or None when unknown."""
        expected = self.expected(event)
        name = hooks.event_id(event)
        if name not in self.started or expected is None:
            return None
        self._accrue(time.monotonic())
        return max(0.0, expected - self.share.get(name, 0.0))

    def running_now(self) -> int:
        """Model events started and not yet ended (within STALE_S)."""
        return len(self._running(time.monotonic()))

    def crowding(self) -> float:
        """How many runs a run starting now should expect to share the machine with (itself included): as many as
        run now, or, if more, as many as the runs that ended in the last STALE_S had beside them on average (a
        class's requests come in bursts: the first of a burst starts alone, and the rest join it)."""
        now = time.monotonic()
        recent = [crowd for ended, crowd in self.crowds if 0 <= now - ended <= STALE_S]
        return max(float(self.running_now()), sum(recent) / len(recent) if recent else 1.0)

    def _running(self, now: float) -> list[str]:
        return [name for name, (start, _, _) in self.started.items() if 0 <= now - start <= STALE_S]

    def _accrue(self, now: float) -> None:
        """Give each running event its share of the time since the last update: the running events share the
        machine (one network, its calls shared or taken in turns), so each is charged elapsed / how many run."""
        running, elapsed = self._running(now), now - self._last if self._last is not None else 0.0
        if running and elapsed > 0:
            for name in running:
                self.share[name] = self.share.get(name, 0.0) + elapsed / len(running)
        self._last = now
        for name in [name for name in self.share if name not in self.started]:
            del self.share[name]


class _Mean:
    def __init__(self):
        self.count, self.total = 0, 0.0

    def add(self, seconds: float) -> None:
        self.count += 1
        self.total += seconds

    @property
    def value(self) -> float:
        return self.total / self.count


def _keep_recent(mapping: dict, key: Any, value: Any) -> None:
    """``mapping[key] = value`` as its newest entry, dropping the oldest beyond RECENT (typed prompts are
    endless; a long-running server must not keep them all)."""
    mapping.pop(key, None)
    mapping[key] = value
    while len(mapping) > RECENT:
        mapping.pop(next(iter(mapping)))


def _text(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


# ----------------------------------------------------------------------------- wiring into Gradio's queue

def install(demo: Any, model_groups: tuple[str, ...]) -> Expectations:
    """Let ``demo``'s queue (after ``demo.queue(...)``) send the model groups' estimates from Expectations."""
    queue = hooks.queue_of(demo)
    if getattr(queue, "_expectations", None) is not None:
        return queue._expectations
    model_fns = [fn for fn in hooks.handlers(demo) if fn.concurrency_id in model_groups]
    expectations = Expectations({fn: _seed_positions(fn) for fn in model_fns},
                                {fn: _by_name(_declared[fn.api_name], fn) for fn in model_fns
                                 if fn.api_name in _declared})
    hooks.install_send(queue, lambda send: _learning_send(queue, send, expectations, model_groups))
    hooks.install_broadcast(queue, lambda broadcast: _estimating_broadcast(queue, broadcast, expectations,
                                                                           model_groups))
    queue._expectations = expectations
    return expectations


def _by_name(units: Units, fn: Any) -> Callable[[list], float]:
    """``units`` called with a request's inputs (a list, in ``fn``'s order) by the handler's parameter names."""
    names = hooks.handler_parameters(fn)
    return lambda data: units(**dict(zip(names, data)))


def _seed_positions(fn: Any) -> set[int]:
    """Positions of ``fn``'s inputs that are the seed components declared for its api_name."""
    seeds = {id(block) for block in _seeds.get(fn.api_name, ())}
    return {i for i, block in enumerate(fn.inputs) if id(block) in seeds}


def _learning_send(queue: Any, send, expectations: Expectations, model_groups: tuple[str, ...]):
    """``send(event, message)`` that, for model events, says the expected run time at the start and learns at the end.

    A run starting is expected to share the machine with as many runs as ``crowding`` says, or with those
    running now plus the ones waiting in its group that will start beside it (up to the group's slots).
    """

    def learning_send(event, message):
        if event.concurrency_id in model_groups:
            if hooks.is_start(message):
                expectations.start(event)
                expected = expectations.expected(event)
                waiting = hooks.group_queue(queue, event.concurrency_id)
                if expected is not None and waiting is not None:
                    slots = hooks.group_slots(queue, event.concurrency_id)
                    joining = min(slots, expectations.running_now() + len(waiting))
                    hooks.set_start_eta(message, expected * max(expectations.crowding(), joining))
            else:
                success = hooks.end_success(message)
                if success is not None:
                    expectations.finish(event, success)
        if not hooks.listening(queue, event):
            return None
        return send(event, message)

    return learning_send


def _estimating_broadcast(queue: Any, broadcast, expectations: Expectations, model_groups: tuple[str, ...]):
    """``broadcast(concurrency_id, after=None)`` with the model group's ranks and ETAs from ``expectations``."""

    def estimating_broadcast(concurrency_id: str, after: int | None = None) -> None:
        if concurrency_id not in model_groups:
            return broadcast(concurrency_id, after)
        waiting = hooks.group_queue(queue, concurrency_id)
        if waiting is None:
            return None
        slots = hooks.group_slots(queue, concurrency_id)
        running = [event for event in hooks.running_events(queue) if event.concurrency_id in model_groups]
        waited, crowd = _work_left(running, expectations), expectations.crowding()
        for rank, event in enumerate(waiting):
            own = expectations.expected(event)
            # runs beside it: the ones waiting behind it, or as many as recent runs had (a burst still arriving)
            beside = min(slots - 1, max(len(waiting) - rank - 1, crowd - 1))
            eta = None if own is None or waited is None else waited + own * (1 + beside)
            if after is None or rank >= after:
                hooks.send_if_listening(queue, event, hooks.estimation(rank, eta, len(waiting)))
            waited = None if own is None or waited is None else waited + own

    return estimating_broadcast


def _work_left(running: list, expectations: Expectations) -> float | None:
    """Seconds of the machine's time the running model events still need, or None when one's is unknown."""
    left = [expectations.remaining(event) for event in running]
    return None if any(r is None for r in left) else sum(left)
