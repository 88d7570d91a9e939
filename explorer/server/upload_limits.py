"""Bounds on what a client may send the server: upload requests, the uploads on disk, drawings.

Owns: ``UploadLimits``, an ASGI middleware in front of Gradio's upload routes (``/gradio_api/upload``
and the multipart ``/gradio_api/component_server`` that receives an editor's blobs): files per request,
bytes per request (by Content-Length, before a byte is read; HTTP 413: one picture of up to 10 MB for an upload,
one part of a drawing of up to 256 kB for the component server), bytes per network address in
a rolling window (HTTP 429) and the disk budget of the files uploaded to this process (HTTP 507), both
checked against the declared size before a byte is read and charged as the bytes arrive (an upload
that declares much and sends little costs only what it sent; one that sends more than the quota is
cut off mid-way); an upload that sends nothing for UPLOAD_IDLE_S or is not done in UPLOAD_DEADLINE_S is
cut off (HTTP 408); a clear HTTP 400 instead of Gradio's HTTP 500 for a file part without a name and
for a drawing's part refused by ``bound_drawings``. The pictures the server shows are not uploads: they
are budgeted apart (explorer.server.serving's clean-up) and never block one. Also ``bound_drawings``: the
app-wide rule (set on the ``gr.ImageEditor`` class, so ``gr.Sketchpad`` too) that a drawing's layers
are counted and each part's bytes and declared pixels checked before Gradio decodes any of them, that
a malformed part (no drawing id, unknown kind, no picture, a layer number that is not 0…3) gets a clear
message, and that the editors' store of unfinished drawings is bounded in count per editor and in
bytes for all editors together (``BlobBytes``: past BLOB_BYTES the oldest drawings go).
Does not know: the tabs, the models or the maths; what a picture must look like (explorer.uploads
does). Gradio 6.31's upload route accepts up to 1,000 files of any size up to ``max_file_size``
each in one request and keeps them for the cache's lifetime; its editor decodes every layer at
full size before any handler runs. Both are bounded here, at the edge. Not done here: a share per
browser inside an address's quota: Gradio's upload requests carry no session id (only a random
``upload_id`` per upload), so any per-browser key would be one a script can invent at will.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections import deque
from typing import Any

import gradio as gr
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import PlainTextResponse

from explorer import uploads
from explorer.server import fair_share
from explorer.server import gradio_hooks as hooks

MAX_FILES_PER_REQUEST = 8  # an editor's background, layers and composite fit; the app's file box sends one
MAX_REQUEST_BYTES = uploads.MAX_BYTES + 256 * 1024  # one full-size file and the multipart framing
ADDRESS_WINDOW_S = 600  # the rolling window of the per-address quota
ADDRESS_BYTES = 300 * 1024 * 1024  # per address and window: a class of 30 behind one NAT, a 10 MB photo each
TEMP_BUDGET_BYTES = int(float(os.environ.get("EXPLORER_TEMP_BUDGET_MB", 1024)) * 1024 * 1024)
MEASURE_EVERY_S = 5.0  # how often the uploaded files are re-measured (uploads in between are added)
UPLOAD_IDLE_S = 20.0  # an upload that sends nothing for this long is cut off (HTTP 408)
UPLOAD_DEADLINE_S = 120.0  # ... and one not finished in this long: 10 MB at 0.7 Mbit/s
BLOBS_KEPT = 64  # unfinished drawings an editor keeps in memory (Gradio: unbounded)
BLOB_BYTES = int(float(os.environ.get("EXPLORER_BLOB_MB", 128)) * 1024 * 1024)  # ... and all editors'
# unfinished drawings together, in bytes: the oldest go first (a class's drawings are ~50 kB each)
BLOB_TYPES = ("layer", "background", "composite")
DRAWING_PATHS = ("/gradio_api/component_server", "/gradio_api/component_server/")  # an editor's parts of drawings
UPLOAD_PATHS = ("/gradio_api/upload", *DRAWING_PATHS)
MAX_DRAWING_PART_BYTES = 256 * 1024  # one part of a drawing as the app's pads send it: at most 7.6 kB measured
# (a 320×320 pad scribbled all over, Chromium at device scales 1 and 3: the pads export at their canvas size, and
# their brushes draw few colours, which PNG packs tightly); 34× that leaves room for any real drawing
MAX_DRAWING_REQUEST_BYTES = MAX_DRAWING_PART_BYTES + 64 * 1024  # one part and the multipart framing


class _TooManyFiles(Exception):
    pass


class _Refused(Exception):
    """Raised from inside the body's stream: answer (status, message) if no response has started."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


class UploadLimits:
    """ASGI middleware: refuse an over-limit upload before Gradio stores any of it."""

    def __init__(self, app: Any):
        self.app = app
        self.quota = AddressQuota(ADDRESS_BYTES, ADDRESS_WINDOW_S)
        self.budget = DiskBudget(TEMP_BUDGET_BYTES)

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or not scope["path"].endswith(UPLOAD_PATHS):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        refused = self._refusal(scope, headers)
        if refused is not None:
            await PlainTextResponse(refused[1], status_code=refused[0])(scope, receive, send)
            return
        await self._counted(scope, receive, send, _PartCounter(headers.get("content-type", "")))

    def _charge(self, scope, n_bytes: int) -> None:
        """Charge ``n_bytes`` that just arrived to the address's quota and the disk budget; _Refused past either."""
        blocks = scope["app"].get_blocks() if hasattr(scope.get("app"), "get_blocks") else None
        if blocks is not None and not self.budget.admits(blocks, n_bytes):
            raise _Refused(*FULL)
        if not self.quota.admits(fair_share.client_address(Request(scope)), n_bytes):
            raise _Refused(*BUSY)

    def _refusal(self, scope, headers: Headers) -> tuple[int, str] | None:
        """(HTTP status, message) that refuses this upload from its headers alone, or None."""
        try:
            length = int(headers["content-length"])
        except (KeyError, ValueError):
            return 411, "Uploads must say their size (Content-Length)."
        if scope["path"].endswith(DRAWING_PATHS) and length > MAX_DRAWING_REQUEST_BYTES:
            return 413, (f"This part of a drawing is {length / 1e6:.1f} MB; the drawing pads send parts of at most "
                         f"{MAX_DRAWING_PART_BYTES // 1024} kB.")
        if length > MAX_REQUEST_BYTES:
            return 413, (f"The upload is {length / 1e6:.1f} MB; at most one picture of up to "
                         f"{uploads.MAX_BYTES // 2**20} MB can be sent at a time.")
        blocks = scope["app"].get_blocks() if hasattr(scope.get("app"), "get_blocks") else None
        if blocks is not None and not self.budget.admits(blocks, length, charge=False):
            return FULL
        if not self.quota.admits(fair_share.client_address(Request(scope)), length, charge=False):
            return BUSY
        return None

    async def _counted(self, scope, receive, send, counter: _PartCounter) -> None:
        """Pass the request on, counting its file parts; answer 413 or 400 if Gradio's route cannot finish."""
        started = False
        deadline = time.monotonic() + UPLOAD_DEADLINE_S

        async def counted_receive():
            wait_s = min(UPLOAD_IDLE_S, deadline - time.monotonic())
            try:
                message = await asyncio.wait_for(receive(), timeout=max(wait_s, 0.001))
            except asyncio.TimeoutError:
                raise _Refused(408, "The upload was too slow and was stopped. Please try again.") from None
            if message.get("type") == "http.request":
                body = message.get("body", b"")
                counter.feed(body)
                if body:
                    self._charge(scope, len(body))  # as the bytes arrive, not as the upload starts
            return message

        async def tracked_send(message):
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted_receive, tracked_send)
        except _Refused as refused:
            if not started:
                await PlainTextResponse(refused.message, status_code=refused.status)(scope, receive, send)
        except gr.Error as error:  # a drawing's blob refused by bound_drawings: a clear message, not HTTP 500
            if not started:
                await PlainTextResponse(error.message, status_code=400)(scope, receive, send)
        except _TooManyFiles:
            if not started:
                await PlainTextResponse(f"At most {MAX_FILES_PER_REQUEST} files can be sent at a time.",
                                        status_code=413)(scope, receive, send)
        except TypeError:  # Gradio 6.31: a file part without a file name is a form field, its route raises TypeError
            if not started:
                await PlainTextResponse("Each uploaded file needs a file name.", status_code=400)(scope, receive, send)


FULL = (507, "The server's space for uploads is full. Please try again in a few minutes.")
BUSY = (429, "Too many uploads from your network in the last few minutes. Please try again later.")


class _PartCounter:
    """Counts the parts of a multipart body as it streams by; raises _TooManyFiles past the limit."""

    def __init__(self, content_type: str):
        boundary = content_type.partition("boundary=")[2].split(";")[0].strip().strip('"')
        self.delimiter = b"\r\n--" + boundary.encode("latin-1") if boundary else None
        self.tail = b"\r\n"  # the first delimiter has no line break before it
        self.count = 0

    def feed(self, chunk: bytes) -> None:
        if self.delimiter is None or not chunk:
            return
        data = self.tail + chunk
        self.count += data.count(self.delimiter)  # the tail is shorter than a delimiter: none is counted twice
        self.tail = data[-(len(self.delimiter) - 1):]
        if self.count - 1 > MAX_FILES_PER_REQUEST:  # the last delimiter closes the body, it starts no part
            raise _TooManyFiles


class AddressQuota:
    """Bytes each network address may upload within a rolling window."""

    def __init__(self, limit: int, window_s: float):
        self.limit, self.window_s = limit, window_s
        self.sent: dict[str, deque[tuple[float, int]]] = {}
        self.lock = threading.Lock()

    def admits(self, address: str, n_bytes: int, charge: bool = True) -> bool:
        """Whether ``n_bytes`` more fit in the address's window; charged to it if so (unless ``charge`` is False)."""
        now = time.monotonic()
        with self.lock:
            for key in [k for k, log in self.sent.items() if log and log[-1][0] < now - self.window_s]:
                del self.sent[key]  # addresses quiet for a whole window are forgotten
            log = self.sent.setdefault(address, deque())
            while log and log[0][0] < now - self.window_s:
                log.popleft()
            if sum(n for _, n in log) + n_bytes > self.limit:
                return False
            if charge:
                log.append((now, n_bytes))
            return True


class DiskBudget:
    """The files uploaded to this process may take at most ``limit`` bytes (the pictures the server shows
    are budgeted apart, by explorer.server.serving's clean-up, so that they never block an upload)."""

    def __init__(self, limit: int):
        self.limit = limit
        self.measured, self.added, self.at = 0, 0, -float("inf")
        self.lock = threading.Lock()

    def admits(self, blocks: Any, n_bytes: int, charge: bool = True) -> bool:
        """Whether ``n_bytes`` more fit; added to the count if so (unless ``charge`` is False)."""
        with self.lock:
            if time.monotonic() - self.at > MEASURE_EVERY_S:
                self.measured, self.added, self.at = upload_bytes(blocks), 0, time.monotonic()
            if self.measured + self.added + n_bytes > self.limit:
                return False
            if charge:
                self.added += n_bytes
            return True


def upload_bytes(blocks: Any) -> int:
    """Bytes of the files uploaded to this app that are still on disk (Gradio's set of uploaded files)."""
    files = hooks.upload_files(blocks)
    if files is None:  # Gradio's first set of temporary files is its uploads
        files = (hooks.temp_file_name_sets(blocks) or [set()])[0]
    total = 0
    for name in set(files):  # set(): one copy, safe while uploads add names
        try:
            total += os.stat(name).st_size
        except OSError:
            continue
    return total


# ----------------------------------------------------------------------------- drawings

def bound_drawings() -> None:
    """Every gr.ImageEditor and gr.Sketchpad: bounds checked before decoding, blob store bounded.

    Set on the class (through gradio_hooks.guard_editors, as common.leave_ranges_to_validators does for
    sliders), so that copies Gradio keeps per session are bounded too. Idempotent.
    """
    hooks.guard_editors(_check_editor_payload, _accept_blob)


def _accept_blob(editor: Any, data: Any, store) -> Any:
    """Check one part of an unfinished drawing, make room (count, then bytes), and ``store()`` it."""
    _check_blob(data)
    kept = hooks.drawings(editor)
    while len(kept) >= BLOBS_KEPT:  # the oldest unfinished drawing goes first
        kept.pop(next(iter(kept)))
    result = store()
    _blob_bytes.stored(hooks.drawings(editor), data.data["id"])
    return result


def _check_editor_payload(editor: Any, payload: Any) -> None:
    """gr.Error if the drawing has too many layers or a part too large; reads only sizes and headers."""
    if payload is None:
        return
    parts = payload
    if getattr(payload, "id", None) is not None:
        parts = hooks.drawings(editor).get(payload.id)
        if parts is None:
            return
    try:
        uploads.check_drawing(_source(parts.background), [_source(p) for p in parts.layers or []],
                              _source(parts.composite))
    except uploads.UploadError as error:
        if getattr(payload, "id", None) is not None:
            hooks.drawings(editor).pop(payload.id, None)
        raise gr.Error(str(error), print_exception=False) from None


def _source(part: Any) -> Any:
    """A drawing part as explorer.uploads reads it: a FileData's path, bytes, or None."""
    return getattr(part, "path", part)


class BlobBytes:
    """The bytes of every editor's unfinished drawings together, bounded: past ``limit`` the oldest go."""

    def __init__(self, limit: int):
        self.limit = limit
        self.entries: dict[tuple[int, str], tuple[dict, Any, int]] = {}  # oldest first: (storage, parts, bytes)
        self.lock = threading.Lock()

    def stored(self, storage: dict, blob_id: str) -> None:
        """``storage[blob_id]`` was just written: count its bytes, then evict the oldest drawings while over."""
        with self.lock:
            key = (id(storage), blob_id)
            self.entries.pop(key, None)
            parts = storage.get(blob_id)
            if parts is not None:
                self.entries[key] = (storage, parts, blob_size(parts))
            for stale in [k for k, (st, pa, _) in self.entries.items() if st.get(k[1]) is not pa]:
                del self.entries[stale]  # used (Gradio pops a drawing it reads) or evicted by count
            total = sum(size for _, _, size in self.entries.values())
            while total > self.limit and self.entries:
                (_, old_id), (old_storage, _, size) = next(iter(self.entries.items()))
                del self.entries[(id(old_storage), old_id)]
                old_storage.pop(old_id, None)
                total -= size

    def total(self) -> int:
        with self.lock:
            return sum(size for _, _, size in self.entries.values())


def blob_size(parts: Any) -> int:
    """Bytes of one unfinished drawing's parts (background, layers, composite)."""
    pieces = [getattr(parts, "background", None), getattr(parts, "composite", None),
              *(getattr(parts, "layers", None) or [])]
    return sum(len(piece) for piece in pieces if isinstance(piece, (bytes, bytearray, memoryview)))


_blob_bytes = BlobBytes(BLOB_BYTES)


def _check_blob(data: Any) -> None:
    """gr.Error for a blob that is malformed, names a layer past the limit or is too large; before it is stored."""
    if not isinstance(getattr(data, "data", None), dict) or not data.data.get("id"):
        raise gr.Error("A part of the drawing came without its drawing's id. Please draw again.",
                       print_exception=False)
    if data.data.get("type") not in BLOB_TYPES:
        raise gr.Error("A part of the drawing is of an unknown kind. Please draw again.", print_exception=False)
    if not getattr(data, "files", None):
        raise gr.Error("A part of the drawing came without its picture. Please draw again.", print_exception=False)
    index = data.data.get("index")
    try:
        layer = int(index) if index not in (None, "", "null") else None
    except (TypeError, ValueError):
        raise gr.Error(f"A layer of the drawing has no valid number ({str(index)[:20]!r}); layers are numbered "
                       f"0 to {uploads.MAX_DRAWING_LAYERS - 1}.", print_exception=False) from None
    if layer is not None and not 0 <= layer < uploads.MAX_DRAWING_LAYERS:
        raise gr.Error(f"A drawing can have at most {uploads.MAX_DRAWING_LAYERS} layers (numbered 0 to "
                       f"{uploads.MAX_DRAWING_LAYERS - 1}); this part names layer {layer}.", print_exception=False)
    if any(len(blob) > MAX_DRAWING_PART_BYTES for _, blob in data.files):
        raise gr.Error(f"A layer of the drawing is over the {MAX_DRAWING_PART_BYTES // 1024} kB limit.",
                       print_exception=False)

