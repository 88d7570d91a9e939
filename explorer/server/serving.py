"""Serving the app to a whole class at once: queue and launch settings, process limits, ZeroGPU.

Owns: the two model groups (quick requests, and many-picture ones) and how many events of each run at
once (set here and nowhere else; the groups' network calls take turns, explorer.server.turns, and the calls of
one group's events ride together, explorer.server.shared_calls), how many other events run at once, the fair
admission to the queue (explorer.server.fair_share: per-browser and per-address caps, the model groups and
the cheap views counted apart, round-robin order), the waiting times pages show for model requests
(explorer.server.estimates: learned from what requests with the same settings took, each charged its
share of the machine), the limits on uploads and drawings (explorer.server.upload_limits: files and bytes per request,
per-address quota, the temporary folder's disk budget), the page and its config made once per address and sent
compressed (explorer.server.page_cache, compression), how many browser sessions keep their state, the temporary files
(each process keeps them in a folder of its own, ``process_folder``: Gradio's cache and the download folders; a start
removes what dead processes of this app left; a clean-up round on a timer deletes old files and, past a disk budget,
the oldest pictures shown and download folders; when the server stops, on SIGTERM or Ctrl-C, all of them, one
round at a time), what the server does not offer (no
monitoring page, no analytics, no MCP server, no run history kept in browsers, no served folders
beyond Gradio's own), the connections (``bound_connections``: idle keep-alive closed after KEEP_ALIVE_S, a request head
not complete within HEADER_TIMEOUT_S closed, at most CONNECTIONS_PER_ADDRESS open per TCP peer (a newcomer
past it closes that peer's oldest connection still waiting for a request head, so a script holding half-sent
heads cannot lock out a student behind the same address; with none waiting, the newcomer is closed) and
MAX_CONNECTIONS in all, within the file limit; a repeated error logged LOG_REPEATS times a minute, then
counted; on a Hugging Face Space every peer is Spaces' proxy, so the per-address cap is off there and
the proxy's own limits stand in front: a host that needs more should put a reverse proxy with
per-address connection limits before the app), torch's thread count, Pillow's pixel limit for every decoder in the
process (Gradio's included), and ``gpu``: the ``spaces.GPU`` wrapper for heavy handlers on Hugging Face
ZeroGPU (a no-op anywhere else).
Does not know: the tabs, the models or the maths; it gets a built ``gr.Blocks`` and the launch
options of its caller. What it needs of Gradio's internals (the handlers, the sets of temporary file names a
``Blocks`` keeps, each block's cache folder, the uvicorn server Gradio builds) it reaches through
explorer.server.gradio_hooks.
"""

from __future__ import annotations

import asyncio
import atexit
import os
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None

import anyio
from PIL import Image

from explorer import call_threads, uploads
from explorer.server import compression, estimates, fair_share, openings, page_cache, turns, upload_limits
from explorer.server import gradio_hooks as hooks

MODEL_GROUP = "model"  # the concurrency_id of the quick model events (each at most ~5× a default Remove-noise run)
LONG_MODEL_GROUP = "model-long"  # ... of the many-picture ones (guidance grids, comparisons, the Mistakes tab)
TRAINING_GROUP = "training"  # ... of the 2-D toy's training runs (each a student's own model, seconds long)
MODEL_GROUPS = (MODEL_GROUP, LONG_MODEL_GROUP, TRAINING_GROUP)
QUICK_CONCURRENCY = 10  # quick model events at once: their network calls ride together (explorer.server.shared_calls);
# the last fair_share.RESERVED_SLOTS only for an address with none running, so one address runs 8 at once.
# Measured in one process, AVX2 fp32, 2 threads: 16 default Remove-noise runs took 8.7 s one after another,
# 5.0 s eight at once and 4.9 s sixteen at once
LONG_CONCURRENCY = 1  # many-picture events at once: one, its calls taking turns with the quick ones
# (explorer.server.turns: fairly by time, never two calls at once; torch already uses every core)
TRAINING_CONCURRENCY = 4  # training runs at once (one address: all but fair_share.RESERVED_SLOTS); their chunks
# take turns with the pictures' calls, so a class training its toys never holds a picture's running place
MODEL_CONCURRENCY = {MODEL_GROUP: QUICK_CONCURRENCY, LONG_MODEL_GROUP: LONG_CONCURRENCY,
                     TRAINING_GROUP: TRAINING_CONCURRENCY}
LIGHT_CONCURRENCY = 2  # other events at once, per event (plots, uploads, gallery picks)
QUEUE_SIZE = fair_share.BACKSTOP  # Gradio's own cap; fair_share's per-client and per-group caps refuse first
SESSIONS_KEPT = 300  # browser sessions whose state is kept (Gradio: 10000); a class is ~30, reloads included
MAX_UPLOAD_BYTES = uploads.MAX_BYTES  # a larger upload is refused with HTTP 413 before any handler
CACHE_CLEAN_EVERY_S = 120  # how often the temporary files (uploads, shown pictures, downloads) are cleaned
CACHE_MAX_AGE_S = 3600  # files older than this go; all of them when the server stops
OUTPUT_BUDGET_BYTES = int(float(os.environ.get("EXPLORER_OUTPUT_BUDGET_MB", 1024)) * 1024 * 1024)  # pictures
# shown and download folders; past it a round deletes the oldest (uploads are budgeted apart: upload_limits)
OUTPUT_MIN_AGE_S = 120  # ... but none younger than this: a page may still be fetching it
APP_TAG = "diffusion-explorer"  # the name of each process's folder of temporary files starts with it
OWNER_FILE = ".owner"  # in that folder, locked while its process lives
DEFAULT_THREADS = 2  # torch threads unless $EXPLORER_THREADS says otherwise (a free Space has 2 cores)
KEEP_ALIVE_S = 5  # an idle kept-alive connection is closed after this (uvicorn's timeout_keep_alive)
HEADER_TIMEOUT_S = 10.0  # a connection that has not sent a whole request head in this long is closed
CONNECTIONS_PER_ADDRESS = int(os.environ.get("EXPLORER_CONNECTIONS_PER_ADDRESS", 256))  # open at once, per TCP
# peer (a school's NAT: 30 students × a few each); not applied behind a proxy (a Space): every peer is the proxy
MAX_CONNECTIONS = 2000  # open connections and requests at once (uvicorn's limit_concurrency: 503 past it),
# lowered to fit the process's file limit
LOG_REPEATS = 5  # the same error is logged at most this many times a minute; then a count of the rest
_folder: list = []  # [this process's folder, its locked owner file] once made
_folder_lock = threading.Lock()
_clean_lock = threading.Lock()  # never two clean-up rounds at once


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
    """Process-wide settings, once before serving (before any block is made, so that Gradio's cache
    folder is this process's own): torch's threads (EXPLORER_THREADS for the denoisers' large calls, one for all
    other work, measured better for a class: see docs/serving.md), Pillow's pixel limit, ``process_folder``."""
    import torch

    process_folder()
    threads = int(os.environ.get("EXPLORER_THREADS") or min(DEFAULT_THREADS, os.cpu_count() or 1))
    call_threads.set_most(threads)  # the denoisers' large calls run on all of them (explorer.call_threads)
    torch.set_num_threads(1)  # everything else: one thread each (many handlers run at once on a few cores)
    Image.MAX_IMAGE_PIXELS = uploads.MAX_PIXELS  # Pillow refuses twice this outright, in any decoder


def share_model_limit(demo: Any) -> None:
    """Give every event of each model group its group's limit (MODEL_CONCURRENCY) and run its handler in a flow
    at the network per group and client address (explorer.server.turns: one call at a time, the flows taking
    turns fairly by time; within a flow, calls waiting at the same moment ride together:
    explorer.server.shared_calls). Per address, so that a script's costly runs are charged to its own address:
    a student elsewhere gets the network between its calls instead of riding in its batches (issue 26); a class
    behind one school address still shares its batches.

    Gradio keeps one queue per concurrency_id, created when the group's first event arrives with
    that event's own limit and lowered by later events with a smaller one; limits that differ per
    event would make the group's limit depend on which event came first.
    """
    for block_fn in hooks.handlers(demo):
        if block_fn.concurrency_id in MODEL_GROUPS:
            block_fn.concurrency_limit = MODEL_CONCURRENCY[block_fn.concurrency_id]
            group = block_fn.concurrency_id
            hooks.wrap_handler(block_fn, lambda fn, group=group: turns.in_flow(lambda: _flow_name(group), fn),
                               "_in_flow")


def _flow_name(group: str) -> str:
    """The flow of the request being served in this thread: its model group and client address."""
    return f"{group} from {fair_share.client_address(hooks.current_request())}"


def launch(demo: Any, **kwargs) -> None:
    """Queue and launch ``demo`` with the settings above; ``kwargs`` go to ``demo.launch``.

    When it blocks (no ``prevent_thread_lock``), SIGTERM stops the server as Ctrl-C does (a second signal
    during the clean-up is ignored), the openings not yet made are not made, and every temporary file this process
    made is deleted before it returns.
    """
    from starlette.middleware import Middleware

    configure_process()
    bound_connections()
    hooks.point_cache(demo, os.environ["GRADIO_TEMP_DIR"])  # blocks made before process_folder: new files go there
    share_model_limit(demo)
    upload_limits.bound_drawings()
    hooks.lazy_session_configs()
    demo.queue(default_concurrency_limit=LIGHT_CONCURRENCY, max_size=QUEUE_SIZE, api_open=False)
    fair_share.install(demo, MODEL_GROUPS)
    estimates.install(demo, MODEL_GROUPS)
    blocking = not kwargs.get("prevent_thread_lock")
    if blocking:
        stop_on_sigterm()
    try:
        demo.launch(max_file_size=MAX_UPLOAD_BYTES, show_error=True, enable_monitoring=False, mcp_server=False,
                    run_history=False, state_session_capacity=SESSIONS_KEPT,
                    app_kwargs={"lifespan": cache_cleaning, "middleware": [Middleware(upload_limits.UploadLimits),
                                                                          Middleware(page_cache.PageCache),
                                                                          Middleware(compression.CompressedPages)]},
                    **kwargs)
    finally:
        if blocking:
            openings.stop()  # the one being made finishes before the files go; no others are started
            if getattr(demo, "server_app", None) is not None:
                delete_old_files(demo.server_app, age_s=None)  # waits for the lifespan's own round, if running
            empty_process_folder()  # what no set names, and the download folders


def stop_on_sigterm() -> None:
    """SIGTERM (a host or ``kill`` stopping the app) interrupts the main thread as Ctrl-C does."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _interrupt)


def _interrupt(signum, frame) -> None:
    """The first SIGTERM stops the server; any later one (a host repeating it) must not cut the clean-up short."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    raise KeyboardInterrupt


# ----------------------------------------------------------------------------- connections and the log

def bound_connections() -> None:
    """Every uvicorn server Gradio starts from now on gets ``connection_settings``; repeated errors are
    rate-limited in the log (``RepeatFilter`` on uvicorn's and asyncio's loggers). Idempotent.

    Gradio 6.31's ``launch`` passes no uvicorn settings, so the server class it builds is adjusted
    (gradio_hooks.adjust_server_configs, guarded: if Gradio's layout changes, the server runs without
    these limits and says so).
    """
    import logging

    for name in ("uvicorn.error", "asyncio", "gradio"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RepeatFilter) for f in logger.filters):
            logger.addFilter(RepeatFilter(LOG_REPEATS, 60.0))
    if not hooks.adjust_server_configs(connection_settings):
        logging.getLogger(__name__).warning("Gradio's server class not found: no connection limits")


def connection_settings(config: Any) -> Any:
    """Set ``config`` (a ``uvicorn.Config`` not yet loaded): keep-alive, the cap on open connections, and a
    protocol that closes connections slow to send their request head and caps them per address."""
    config.timeout_keep_alive = KEEP_ALIVE_S
    config.limit_concurrency = MAX_CONNECTIONS
    try:
        import resource

        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        if soft != resource.RLIM_INFINITY:
            config.limit_concurrency = max(64, min(MAX_CONNECTIONS, soft - 200))  # files, models, logs
    except (ImportError, ValueError, OSError):
        pass
    config.http = bounded_protocol()
    return config


def bounded_protocol() -> type:
    """uvicorn's h11 protocol, with a per-address cap on open connections and a timeout on the request head."""
    from uvicorn.protocols.http.h11_impl import H11Protocol

    open_per_address: dict[str, dict] = {}  # address → its open connections, oldest first (a dict as ordered set)

    class BoundedH11(H11Protocol):
        def connection_made(self, transport) -> None:
            super().connection_made(transport)
            self._address = self.client[0] if self.client else "unknown"
            self._head_timer = None
            mine = open_per_address.setdefault(self._address, {})
            if not fair_share.trusted_proxies() and len(mine) >= CONNECTIONS_PER_ADDRESS:
                waiting = next((c for c in mine if c.awaiting_head()), None)
                if waiting is None:  # every one of them is being answered: the newcomer waits its turn
                    transport.close()
                    return
                mine.pop(waiting)  # the oldest connection idle or still sending a head makes room
                waiting.transport.close()
            mine[self] = None
            self._arm_head_timer()

        def awaiting_head(self) -> bool:
            """No request in progress: idle between requests or (the rest of) a request head still to come."""
            return self.cycle is None or self.cycle.response_complete

        def _arm_head_timer(self) -> None:
            if self._head_timer is None:
                self._head_timer = self.loop.call_later(HEADER_TIMEOUT_S, self._head_timeout, self.cycle)

        def _head_timeout(self, cycle_then) -> None:
            self._head_timer = None
            if self.cycle is cycle_then and not self.transport.is_closing():  # no new request head since
                self.transport.close()

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            if self.cycle is None or self.cycle.response_complete:  # waiting for (the rest of) a request head
                self._arm_head_timer()

        def connection_lost(self, exc) -> None:
            if self._head_timer is not None:
                self._head_timer.cancel()
            mine = open_per_address.get(self._address, {})
            mine.pop(self, None)
            if not mine:
                open_per_address.pop(self._address, None)
            super().connection_lost(exc)

    BoundedH11.open_per_address = open_per_address
    return BoundedH11


class RepeatFilter:
    """A ``logging`` filter: the same message (logger, text, exception type) at most ``limit`` times per
    ``window_s``; the first one after a quiet spell says how many were left out."""

    def __init__(self, limit: int, window_s: float):
        self.limit, self.window_s = limit, window_s
        self.seen: dict[tuple, list] = {}  # key → [window start, count in window, left out]
        self.lock = threading.Lock()

    def filter(self, record) -> bool:
        exc = record.exc_info[0].__name__ if record.exc_info and record.exc_info[0] else ""
        key = (record.name, str(record.msg)[:200], exc)
        now = time.monotonic()
        with self.lock:
            if len(self.seen) > 1000:
                self.seen.clear()
            start, count, left_out = self.seen.get(key, (now, 0, 0))
            if now - start > self.window_s:
                start, count = now, 0
            count += 1
            if count > self.limit:
                self.seen[key] = [start, count, left_out + 1]
                return False
            self.seen[key] = [start, count, 0]
        if left_out:
            record.msg = f"{record.msg} [{left_out} more like this were left out of the log]"
        return True


# ----------------------------------------------------------------------------- temporary files

def process_folder() -> Path:
    """This process's own folder of temporary files, made (and Gradio pointed into it) on the first call.

    ``<Gradio's cache folder>/diffusion-explorer-<pid>-<random>/``: ``gradio/`` becomes Gradio's cache
    ($GRADIO_TEMP_DIR, for every block made afterwards and for the upload route) and ``downloads/``
    the Remove-noise tab's per-run download folders. Its ``.owner`` file stays locked (``flock``) while
    the process lives, so a later start can tell a leftover of a dead process (unlocked) from the folder
    of one still serving (locked), and removes only the former (``remove_leftovers``). The whole folder
    is removed when the process exits normally.
    """
    with _folder_lock:
        if _folder:
            return _folder[0]
        base = Path(os.environ.get("GRADIO_TEMP_DIR") or Path(tempfile.gettempdir()) / "gradio")
        base.mkdir(parents=True, exist_ok=True)
        remove_leftovers(base)
        folder = Path(tempfile.mkdtemp(prefix=f"{APP_TAG}-{os.getpid()}-", dir=base))
        owner = open(folder / OWNER_FILE, "w")  # kept open (and locked) for the life of the process
        owner.write(f"{APP_TAG} pid {os.getpid()}\n")
        owner.flush()
        if fcntl is not None:
            fcntl.flock(owner, fcntl.LOCK_EX | fcntl.LOCK_NB)
        _folder.extend([folder, owner])
        (folder / "gradio").mkdir()
        (folder / "downloads").mkdir()
        os.environ["GRADIO_TEMP_DIR"] = str(folder / "gradio")
        from explorer.demos import remove_noise  # its download folders live here too, removed at a stop

        remove_noise.FILES_ROOT = folder / "downloads"
        atexit.register(shutil.rmtree, folder, True)
        return folder


def empty_process_folder() -> None:
    """Delete everything in this process's folder but its owner file (the server has stopped)."""
    folder = process_folder()
    for entry in list(folder.iterdir()):
        if entry.name != OWNER_FILE:
            shutil.rmtree(entry, ignore_errors=True) if entry.is_dir() else entry.unlink(missing_ok=True)
    for name in ("gradio", "downloads"):
        (folder / name).mkdir(exist_ok=True)


def remove_leftovers(base: Path) -> int:
    """Remove the folders earlier processes of this app left in ``base`` (killed before their clean-up).

    Only folders named ``diffusion-explorer-*`` that hold an ``.owner`` file nobody has locked are
    removed: a live process holds its lock, and other apps' files have no such folder. Returns how many.
    """
    if fcntl is None:  # no flock (Windows): leftovers are not told apart, none is removed
        return 0
    removed = 0
    for entry in base.glob(f"{APP_TAG}-*"):
        owner = entry / OWNER_FILE
        if entry in _folder or not owner.is_file():
            continue
        try:
            with open(owner, "a") as handle:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)  # fails while its process lives
                shutil.rmtree(entry, ignore_errors=True)
                removed += 1
        except OSError:
            continue
    return removed


@asynccontextmanager
async def cache_cleaning(app: Any) -> AsyncIterator[None]:
    """While the server runs, a clean-up round every CACHE_CLEAN_EVERY_S; at the end one that deletes all.

    Used instead of ``gr.Blocks(delete_cache=...)``, whose Gradio function walks the sets of file names
    that requests keep adding to ("Set changed size during iteration") and stops for good the first
    time it fails. Files Gradio keeps (initial values, examples) stay.
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
        await anyio.to_thread.run_sync(lambda: delete_old_files(app, CACHE_MAX_AGE_S, wait=False))


def delete_old_files(app: Any, age_s: float | None, wait: bool = True) -> int:
    """One clean-up round over ``app``'s temporary files; returns how many files and folders went. Never raises.

    Deleted: files older than ``age_s`` seconds (None: all of them, and every download folder), then, while
    the pictures shown and the download folders take more than OUTPUT_BUDGET_BYTES, the oldest of them
    (uploads have their own budget: explorer.server.upload_limits). Each set of names is copied in one step
    and walked once; names are taken out of Gradio's sets one by one. Never two rounds at once: a round
    waits for the one running (``wait=False``: skipped instead).
    """
    if not _clean_lock.acquire(blocking=wait):
        return 0
    try:
        return _delete_round(app.get_blocks(), age_s)
    except Exception:  # a clean-up must never stop the server; the next round tries again
        return 0
    finally:
        _clean_lock.release()


def _delete_round(blocks: Any, age_s: float | None) -> int:
    keep = hooks.kept_files(blocks)
    uploaded = set(hooks.upload_files(blocks) or ())
    sets = hooks.temp_file_name_sets(blocks)
    tracked: dict[str, list] = {}
    entries, upload_entries = [], []
    for files in sets:
        for name in set(files) - keep:  # set(): one C-level copy, safe while requests add names
            tracked.setdefault(name, []).append(files)
    for name in tracked:
        info = _stat(name)
        if info is not None:
            (upload_entries if name in uploaded else entries).append((name, *info))
    downloads = _folder[0] / "downloads" if _folder else None
    if downloads is not None and downloads.is_dir():
        for entry in list(downloads.iterdir()):
            info = _tree_stat(entry)
            if info is not None:
                entries.append((str(entry), *info))
    now = time.time()
    doomed = files_to_delete(entries, now, age_s, OUTPUT_BUDGET_BYTES, OUTPUT_MIN_AGE_S)
    doomed += files_to_delete(upload_entries, now, age_s, None, 0)
    for name in doomed:
        path = Path(name)
        try:
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
                _remove_if_empty(path.parent)
        except OSError:
            continue
        for files in tracked.get(name, ()):
            files.discard(name)
    return len(doomed)


def files_to_delete(entries: list[tuple[str, float, int]], now: float, max_age_s: float | None,
                    budget_bytes: int | None, min_age_s: float) -> list[str]:
    """Which of ``entries`` (name, made at, bytes) a clean-up round deletes: a pure policy.

    Every entry older than ``max_age_s`` (None: every entry), then the oldest of the others that are at
    least ``min_age_s`` old while the rest take more than ``budget_bytes`` (None: no budget).
    """
    if max_age_s is None:
        return [name for name, _, _ in entries]
    doomed = [name for name, made, _ in entries if now - made > max_age_s]
    if budget_bytes is None:
        return doomed
    rest = sorted((made, size, name) for name, made, size in entries if now - made <= max_age_s)
    total = sum(size for _, size, _ in rest)
    for made, size, name in rest:
        if total <= budget_bytes or now - made < min_age_s:
            break
        doomed.append(name)
        total -= size
    return doomed


def _stat(name: str) -> tuple[float, int] | None:
    try:
        info = os.lstat(name)
    except (OSError, ValueError):
        return None
    return info.st_ctime, info.st_size


def _tree_stat(folder: Path) -> tuple[float, int] | None:
    """(made at, bytes) of a download folder: its own ctime and its files' sizes."""
    info = _stat(str(folder))
    if info is None:
        return None
    size = 0
    for path in folder.rglob("*") if folder.is_dir() else ():
        size += (_stat(str(path)) or (0, 0))[1]
    return info[0], size + (0 if folder.is_dir() else info[1])


def _remove_if_empty(folder: Path) -> None:
    """Gradio keeps each cached file in a folder of its own; the folder goes with its last file."""
    if _folder and folder.parent == _folder[0] / "gradio":
        try:
            folder.rmdir()
        except OSError:
            pass
