"""Results at a tab's defaults that are too slow to make while the app starts: made once per process in
the background, shown when each page loads, so no tab opens empty and the server starts at once.

Owns: ``fill``: a page-load event that shows an opening (the first visitors after a start wait until
it is ready; every later visit gets the stored result, no model work), and ``start``: one background
thread, started when the server launches, that makes the registered openings one after another (they
do not compete with each other for the cores, and their network calls wait while a student's request wants the
network, explorer.server.turns), and ``stop``: a stopping server makes no further openings. The thread is not a
daemon: a process that stops while it works waits for the one picture being made (not the ones after it) instead
of tearing torch down under it. Tabs whose defaults take a fraction of a second make them while they are built
instead.
Does not know: what is computed.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

import gradio as gr

from explorer.server import gradio_hooks as hooks
from explorer.server import turns

WAIT_S = 120.0  # how long a page load waits for an opening still being made
FLOW = "openings"  # their flow at the network (explorer.server.turns): in the background, after the students' requests


class Opening:
    """One result, made once by ``compute`` in the background thread."""

    def __init__(self, compute: Callable[[], tuple]):
        self._compute = compute
        self._ready = threading.Event()
        self._value: tuple | None = None
        self._error: Exception | None = None

    def make(self) -> None:
        try:
            self._value = self._compute()
        except Exception as error:  # shown to the visitor; the server keeps serving
            self._error = error
        finally:
            self._ready.set()

    def get(self) -> tuple:
        if not self._ready.wait(WAIT_S):
            raise gr.Error("This example is still being made; press the button to make it now.", print_exception=False)
        if self._error is not None:
            raise gr.Error(f"The example could not be made: {self._error}", print_exception=False)
        return self._value


_pending: list[Opening] = []
_lock = threading.Lock()
_worker: threading.Thread | None = None
_stopping = False


def fill(outputs: Sequence[gr.components.Component], compute: Callable[[], tuple], api_name: str) -> Opening:
    """Show ``compute()`` (one value per output) in ``outputs`` on every page load; made once, in the background."""
    opening = Opening(compute)
    with _lock:
        _pending.append(opening)
    hooks.current_blocks().load(opening.get, outputs=list(outputs), queue=False, show_progress="hidden",
                            api_name=api_name, api_visibility="undocumented")
    return opening


def start() -> None:
    """Make the registered openings in the background (once the server is up; again for ones added later)."""
    global _worker, _stopping
    with _lock:
        _stopping = False
        if _pending and (_worker is None or not _worker.is_alive()):
            _worker = threading.Thread(target=_make_pending, name="openings", daemon=False)
            _worker.start()


def stop() -> None:
    """Make no further openings, and return once the one being made (if any) is done."""
    global _stopping
    with _lock:
        _stopping = True
        worker = _worker
    if worker is not None and worker is not threading.current_thread():
        worker.join()


def _make_pending() -> None:
    while True:
        with _lock:
            if _stopping or not _pending:
                return
            opening = _pending.pop(0)
        with turns.flow(FLOW, background=True):
            opening.make()
