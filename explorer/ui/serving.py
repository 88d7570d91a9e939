"""Serving the app to a whole class at once: queue and launch settings, process limits, ZeroGPU.

Owns: the two model groups (quick requests, and many-picture ones) and how many events of each run at
once (set here and nowhere else; the groups' network calls take turns, explorer.turns, and the calls of
one group's events ride together, explorer.shared_calls), how many other events run at once, the fair
admission to the queue (explorer.ui.fair_share: per-browser and per-address caps, the model groups and
the cheap views counted apart, round-robin order), the waiting times pages show for model requests
(explorer.ui.estimates: learned from what requests with the same settings took, each charged its
share of the machine), the limits on uploads and drawings (explorer.ui.upload_limits: files and bytes per request, per-address quota, the temporary folder's disk budget), how many browser
sessions keep their state, the clean-up of Gradio's temporary files (on a timer, when the server
stops, and on SIGTERM or Ctrl-C: all files this process made), what the server does not offer (no
monitoring page, no analytics, no MCP server, no run history kept in browsers, no served folders
beyond Gradio's own), torch's thread count, Pillow's pixel limit for every decoder in the process
(Gradio's included), and ``gpu``: the ``spaces.GPU`` wrapper for heavy handlers on Hugging Face
ZeroGPU (a no-op anywhere else).
Does not know: the tabs, the models or the maths; it gets a built ``gr.Blocks`` and the launch
options of its caller. Of gradio it uses only the cache clean-up function, at run time.
"""

from __future__ import annotations

import asyncio
import os
import signal
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio
from PIL import Image

from explorer import turns, uploads
from explorer.ui import estimates, fair_share, upload_limits

MODEL_GROUP = "model"  # the concurrency_id of the quick model events (each at most ~5× a default Remove-noise run)
LONG_MODEL_GROUP = "model-long"  # ... of the many-picture ones (guidance grids, comparisons, the Mistakes tab)
MODEL_GROUPS = (MODEL_GROUP, LONG_MODEL_GROUP)
QUICK_CONCURRENCY = 8  # quick model events at once: their network calls ride together (explorer.shared_calls);
# measured in one process, AVX2 fp32, 2 threads: 16 default Remove-noise runs took 8.7 s one after another,
# 5.0 s eight at once and 4.9 s sixteen at once
LONG_CONCURRENCY = 1  # many-picture events at once: one, its calls taking turns with the quick ones
# (explorer.turns: fairly by time, never two calls at once; torch already uses every core)
MODEL_CONCURRENCY = {MODEL_GROUP: QUICK_CONCURRENCY, LONG_MODEL_GROUP: LONG_CONCURRENCY}
LIGHT_CONCURRENCY = 2  # other events at once, per event (plots, uploads, gallery picks)
QUEUE_SIZE = fair_share.BACKSTOP  # Gradio's own cap; fair_share's per-client and per-group caps refuse first
SESSIONS_KEPT = 300  # browser sessions whose state is kept (Gradio: 10000); a class is ~30, reloads included
MAX_UPLOAD_BYTES = uploads.MAX_BYTES  # a larger upload is refused with HTTP 413 before any handler
CACHE_CLEAN_EVERY_S = 600  # how often Gradio's temporary files (uploads, shown pictures) are cleaned
CACHE_MAX_AGE_S = 3600  # files older than this go; all of them when the server stops
DEFAULT_THREADS = 2  # torch threads unless $EXPLORER_THREADS says otherwise (a free Space has 2 cores)


def gpu(fn: Callable) -> Callable:
    """``fn`` wrapped by ``spaces.GPU`` when the ``spaces`` package is importable, else ``fn`` itself.

    ``spaces.GPU`` keeps generator functions streaming and returns ``fn`` unchanged outside
    ZeroGPU hardware, so the tabs can wrap their heavy handlers unconditionally.
    """
    try:
        import spaces
    except ImportError:
        return fn
    return spaces.GPU(fn)


def configure_process() -> None:
    """Process-wide settings, once before serving: torch's threads and Pillow's pixel limit."""
    import torch

    torch.set_num_threads(int(os.environ.get("EXPLORER_THREADS") or min(DEFAULT_THREADS, os.cpu_count() or 1)))
    Image.MAX_IMAGE_PIXELS = uploads.MAX_PIXELS  # Pillow refuses twice this outright, in any decoder


def share_model_limit(demo: Any) -> None:
    """Give every event of each model group its group's limit (MODEL_CONCURRENCY) and run its handler in the
    group's flow at the network (explorer.turns: one call at a time, the groups taking turns fairly; within
    a group, calls waiting at the same moment ride together: explorer.shared_calls).

    Gradio keeps one queue per concurrency_id, created when the group's first event arrives with
    that event's own limit and lowered by later events with a smaller one; limits that differ per
    event would make the group's limit depend on which event came first.
    """
    for block_fn in demo.fns.values():
        if block_fn.concurrency_id in MODEL_GROUPS:
            block_fn.concurrency_limit = MODEL_CONCURRENCY[block_fn.concurrency_id]
            if not getattr(block_fn.fn, "_in_flow", False):
                block_fn.fn = turns.in_flow(block_fn.concurrency_id, block_fn.fn)
                block_fn.fn._in_flow = True


def launch(demo: Any, **kwargs) -> None:
    """Queue and launch ``demo`` with the settings above; ``kwargs`` go to ``demo.launch``.

    When it blocks (no ``prevent_thread_lock``), SIGTERM stops the server as Ctrl-C does, and every
    temporary file this process made is deleted before it returns.
    """
    from starlette.middleware import Middleware

    configure_process()
    share_model_limit(demo)
    upload_limits.bound_drawings()
    demo.queue(default_concurrency_limit=LIGHT_CONCURRENCY, max_size=QUEUE_SIZE, api_open=False)
    fair_share.install(demo, MODEL_GROUPS)
    estimates.install(demo, MODEL_GROUPS)
    blocking = not kwargs.get("prevent_thread_lock")
    if blocking:
        stop_on_sigterm()
    try:
        demo.launch(max_file_size=MAX_UPLOAD_BYTES, show_error=True, enable_monitoring=False, mcp_server=False,
                    run_history=False, state_session_capacity=SESSIONS_KEPT,
                    app_kwargs={"lifespan": cache_cleaning, "middleware": [Middleware(upload_limits.UploadLimits)]},
                    **kwargs)
    finally:
        if blocking and getattr(demo, "server_app", None) is not None:
            delete_old_files(demo.server_app, age_s=None)  # the lifespan's own clean-up may not finish in time


def stop_on_sigterm() -> None:
    """SIGTERM (a host or ``kill`` stopping the app) interrupts the main thread as Ctrl-C does."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _interrupt)


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


# ----------------------------------------------------------------------------- temporary files

@asynccontextmanager
async def cache_cleaning(app: Any) -> AsyncIterator[None]:
    """While the server runs, delete its old temporary files every CACHE_CLEAN_EVERY_S; all of them at the end.

    Used instead of ``gr.Blocks(delete_cache=...)``, which runs the same Gradio function but stops
    for good the first time it fails: it walks a set of file names that requests keep adding to
    ("Set changed size during iteration"), a matter of time in a busy class. Here a failed round
    is simply tried again at the next one. Files Gradio keeps (initial values, examples) stay.
    """
    task = asyncio.create_task(_clean_periodically(app))
    try:
        yield
    finally:
        task.cancel()
        delete_old_files(app, age_s=None)


async def _clean_periodically(app: Any) -> None:
    while True:
        await asyncio.sleep(CACHE_CLEAN_EVERY_S)
        await anyio.to_thread.run_sync(delete_old_files, app, CACHE_MAX_AGE_S)


def delete_old_files(app: Any, age_s: float | None) -> None:
    """Delete the temporary files of ``app`` older than ``age_s`` seconds (None: all); one round, never raises."""
    from gradio.route_utils import delete_files_created_by_app

    try:
        delete_files_created_by_app(app.get_blocks(), age_s)
    except RuntimeError:  # a request added a file during the walk: the rest waits for the next round
        pass
