"""Bounds on what a client may send the server: upload requests, the temporary folder, drawings.

Owns: ``UploadLimits``, an ASGI middleware in front of Gradio's upload routes (``/gradio_api/upload``
and the multipart ``/gradio_api/component_server`` that receives an editor's blobs): files per request,
bytes per request (by Content-Length, before a byte is read; HTTP 413), bytes per network address in
a rolling window (HTTP 429), the disk budget of this process's temporary files (HTTP 507), and a
clear HTTP 400 instead of Gradio's HTTP 500 for a file part without a name. Also ``bound_drawings``:
the app-wide rule (set on the ``gr.ImageEditor`` class, so ``gr.Sketchpad`` too) that a drawing's
layers are counted and each part's bytes and declared pixels checked before Gradio decodes any of
them, and that an editor's blob store cannot be made to grow without bound.
Does not know: the tabs, the models or the maths; what a picture must look like (explorer.uploads
does). Gradio 6.31's upload route accepts up to 1,000 files of any size up to ``max_file_size``
each in one request and keeps them for the cache's lifetime; its editor decodes every layer at
full size before any handler runs. Both are bounded here, at the edge.
"""

from __future__ import annotations

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
from explorer.ui import fair_share

MAX_FILES_PER_REQUEST = 8  # an editor's background, layers and composite fit; the app's file box sends one
MAX_REQUEST_BYTES = uploads.MAX_BYTES + 256 * 1024  # one full-size file and the multipart framing
ADDRESS_WINDOW_S = 600  # the rolling window of the per-address quota
ADDRESS_BYTES = 300 * 1024 * 1024  # per address and window: a class of 30 behind one NAT, a 10 MB photo each
TEMP_BUDGET_BYTES = int(float(os.environ.get("EXPLORER_TEMP_BUDGET_MB", 1024)) * 1024 * 1024)
MEASURE_EVERY_S = 5.0  # how often the temporary files are re-measured (uploads in between are added)
BLOBS_KEPT = 64  # unfinished drawings an editor keeps in memory (Gradio: unbounded)
UPLOAD_PATHS = ("/gradio_api/upload", "/gradio_api/component_server", "/gradio_api/component_server/")


class _TooManyFiles(Exception):
    pass


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

    def _refusal(self, scope, headers: Headers) -> tuple[int, str] | None:
        """(HTTP status, message) that refuses this upload from its headers alone, or None."""
        try:
            length = int(headers["content-length"])
        except (KeyError, ValueError):
            return 411, "Uploads must say their size (Content-Length)."
        if length > MAX_REQUEST_BYTES:
            return 413, (f"The upload is {length / 1e6:.1f} MB; at most one picture of up to "
                         f"{uploads.MAX_BYTES // 2**20} MB can be sent at a time.")
        blocks = scope["app"].get_blocks() if hasattr(scope.get("app"), "get_blocks") else None
        if blocks is not None and not self.budget.admits(blocks, length):
            return 507, "The server's space for uploads is full. Please try again in a few minutes."
        if not self.quota.admits(fair_share.client_address(Request(scope)), length):
            return 429, "Too many uploads from your network in the last few minutes. Please try again later."
        return None

    async def _counted(self, scope, receive, send, counter: _PartCounter) -> None:
        """Pass the request on, counting its file parts; answer 413 or 400 if Gradio's route cannot finish."""
        started = False

        async def counted_receive():
            message = await receive()
            if message.get("type") == "http.request":
                counter.feed(message.get("body", b""))
            return message

        async def tracked_send(message):
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted_receive, tracked_send)
        except _TooManyFiles:
            if not started:
                await PlainTextResponse(f"At most {MAX_FILES_PER_REQUEST} files can be sent at a time.",
                                        status_code=413)(scope, receive, send)
        except TypeError:  # Gradio 6.31: a file part without a file name is a form field, its route raises TypeError
            if not started:
                await PlainTextResponse("Each uploaded file needs a file name.", status_code=400)(scope, receive, send)


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

    def admits(self, address: str, n_bytes: int) -> bool:
        now = time.monotonic()
        with self.lock:
            for key in [k for k, log in self.sent.items() if log and log[-1][0] < now - self.window_s]:
                del self.sent[key]  # addresses quiet for a whole window are forgotten
            log = self.sent.setdefault(address, deque())
            while log and log[0][0] < now - self.window_s:
                log.popleft()
            if sum(n for _, n in log) + n_bytes > self.limit:
                return False
            log.append((now, n_bytes))
            return True


class DiskBudget:
    """This process's temporary files (Gradio's sets of them) may take at most ``limit`` bytes."""

    def __init__(self, limit: int):
        self.limit = limit
        self.measured, self.added, self.at = 0, 0, -float("inf")
        self.lock = threading.Lock()

    def admits(self, blocks: Any, n_bytes: int) -> bool:
        with self.lock:
            if time.monotonic() - self.at > MEASURE_EVERY_S:
                self.measured, self.added, self.at = temp_bytes(blocks), 0, time.monotonic()
            if self.measured + self.added + n_bytes > self.limit:
                return False
            self.added += n_bytes
            return True


def temp_bytes(blocks: Any) -> int:
    """Bytes of the temporary files this app has made (uploads, shown pictures, downloads)."""
    total = 0
    for files in list(blocks.temp_file_sets):
        for name in _snapshot(files):
            try:
                total += os.stat(name).st_size
            except OSError:
                continue
    return total


def _snapshot(files: set) -> list:
    for _ in range(5):  # requests add to these sets while they are copied
        try:
            return list(files)
        except RuntimeError:
            continue
    return []


# ----------------------------------------------------------------------------- drawings

def bound_drawings() -> None:
    """Every gr.ImageEditor and gr.Sketchpad: bounds checked before decoding, blob store bounded.

    Set on the class (as common.leave_ranges_to_validators does for sliders), so that copies
    Gradio keeps per session are bounded too. Idempotent.
    """
    editor = gr.ImageEditor
    if getattr(editor.preprocess, "_bounded", False):
        return
    original_preprocess, original_accept = editor.preprocess, editor.accept_blobs

    def preprocess(self, payload):
        _check_editor_payload(self, payload)
        return original_preprocess(self, payload)

    def accept_blobs(self, data):
        _check_blob(data)
        while len(self.blob_storage) >= BLOBS_KEPT:  # the oldest unfinished drawing goes first
            self.blob_storage.pop(next(iter(self.blob_storage)))
        return original_accept(self, data)

    preprocess._bounded = True
    accept_blobs._is_server_fn = True  # Gradio serves only methods marked as server functions
    editor.preprocess, editor.accept_blobs = preprocess, accept_blobs


def _check_editor_payload(editor: Any, payload: Any) -> None:
    """gr.Error if the drawing has too many layers or a part too large; reads only sizes and headers."""
    if payload is None:
        return
    parts = payload
    if getattr(payload, "id", None) is not None:
        parts = editor.blob_storage.get(payload.id)
        if parts is None:
            return
    try:
        uploads.check_drawing(_source(parts.background), [_source(p) for p in parts.layers or []],
                              _source(parts.composite))
    except uploads.UploadError as error:
        if getattr(payload, "id", None) is not None:
            editor.blob_storage.pop(payload.id, None)
        raise gr.Error(str(error), print_exception=False) from None


def _source(part: Any) -> Any:
    """A drawing part as explorer.uploads reads it: a FileData's path, bytes, or None."""
    return getattr(part, "path", part)


def _check_blob(data: Any) -> None:
    """gr.Error for a blob that names a layer past the limit or is too large; before it is stored."""
    index = data.data.get("index")
    try:
        layer = int(index) if index not in (None, "", "null") else None
    except (TypeError, ValueError):
        raise gr.Error("A layer of the drawing has no valid number.", print_exception=False) from None
    if layer is not None and not 0 <= layer < uploads.MAX_DRAWING_LAYERS:
        raise gr.Error(f"A drawing can have at most {uploads.MAX_DRAWING_LAYERS} layers.", print_exception=False)
    if any(len(blob) > uploads.MAX_BYTES for _, blob in data.files):
        raise gr.Error("A layer of the drawing is over the 10 MB limit.", print_exception=False)

