"""One browser's training runs of its toy model: at most one at a time, and how Stop and Start over end one.

Owns: ``TrainingRun`` (when a run began and last made progress, and what ended it) and ``Runs``, one browser's
runs, with the rules: a run starts only when none of the browser's runs is making progress (a run silent for
STALE_S has lost its page); a press of Train made before the page's latest Stop or Start over never starts (it
waited for its turn while the student stopped it); Stop and Start over end a running run at its next chunk, and
the run shows the end itself, so its last streamed picture cannot reach the page after the ending's. Also how
many runs of all browsers are under way (``under_way``: each shows its progress less often when many train).
Does not know: Gradio, the model, the pictures (explorer.ui.toy_tab uses these rules).
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field

STOP, START_OVER = "stop", "start over"
STALE_S = 10.0  # a run that has not made progress for this long is over (its page left)
ENDING_WAIT_S = 5.0  # a new run waits at most this long for an ended run to finish its chunk

_lock = threading.Lock()  # guards every Runs (a run's own thread and the Stop handler touch the same one)
_unfinished: set[int] = set()  # id() of every run of every browser whose thread has not let go of its model


@dataclass
class TrainingRun:
    """One run of Train: ``started`` and ``progress`` on ``time.monotonic()``; ``ended_by`` STOP or START_OVER once
    the page asked it to end (None while it runs); ``finished`` once its thread has let go of the model."""

    started: float
    progress: float
    ended_by: str | None = None
    finished: threading.Event = field(default_factory=threading.Event)

    def running(self, now: float) -> bool:
        return self.ended_by is None and not self.finished.is_set() and now - self.progress < STALE_S


@dataclass
class Runs:
    """One browser's runs: the latest one, and the page's clock (ms) at its latest Stop or Start over."""

    current: TrainingRun | None = None
    stop_pressed_ms: float = -math.inf

    def claim(self, pressed_ms: float | None) -> TrainingRun | None:
        """A new run, or None when the page stopped this press before its turn came. Raises ``RuntimeError``
        while another run of this browser is making progress; waits for an ended one to let go of the model."""
        with _lock:
            if pressed_ms is not None and pressed_ms <= self.stop_pressed_ms:
                return None
            earlier = self.current
            if earlier is not None and earlier.running(time.monotonic()):
                raise RuntimeError("already training")
        if earlier is not None and earlier.ended_by is not None:  # it may be in the middle of a chunk
            earlier.finished.wait(ENDING_WAIT_S)
        with _lock:
            now = time.monotonic()
            self.current = TrainingRun(started=now, progress=now)
            _unfinished.add(id(self.current))
            return self.current

    def progressed(self, run: TrainingRun) -> str | None:
        """Note ``run``'s progress; returns what ended it (STOP, START_OVER) or None to go on."""
        with _lock:
            run.progress = time.monotonic()
            return run.ended_by

    def finish(self, run: TrainingRun) -> None:
        with _lock:
            _unfinished.discard(id(run))
        run.finished.set()

    def end(self, how: str, pressed_ms: float | None) -> bool:
        """The page pressed Stop (``how`` = STOP) or Start over: returns True when a run was making progress (it
        now ends at its next chunk and shows the end itself), False when none was."""
        with _lock:
            if pressed_ms is not None:
                self.stop_pressed_ms = max(self.stop_pressed_ms, pressed_ms)
            run = self.current
            if run is None or not run.running(time.monotonic()):
                return False
            run.ended_by = how
            return True


def under_way() -> int:
    """How many training runs (of all browsers) have started and not finished."""
    with _lock:
        return len(_unfinished)
