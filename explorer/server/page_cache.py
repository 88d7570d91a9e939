"""The page and its config made once per address they are asked at, instead of once per visitor.

Owns: which responses are kept (a GET of ``PATHS`` answered 200 with a body of at most ``MAX_BYTES``, and no
``deep_link`` in its query), the key they are kept under (``page_key``: the path and query, the address the request
names the app by, and whether the browser accepts gzip), how many (``KEPT``, the least recently used goes first),
and that thirty first visitors at once wait for one rendering instead of making thirty.
Does not know: what the page holds. It relies on what explorer.server.gradio_hooks records of Gradio's source: the
page is made from the config fixed at launch, the user (this app has no login) and the request's address
(``PAGE_ADDRESS_HEADERS``), and a ``deep_link`` reads state that changes, so it is never kept.

Why: for every page load Gradio 6.31 deep-copies the whole config (442 components, 0.69 MB), rewrites its file
addresses and renders the page: 50-90 ms of one core holding Python's lock (an idle server, 2026-12-03, 2-vCPU
Intel Xeon). Thirty students opening the link at once queued 2.8-3.5 s of page loads in front of their first
pictures (py-spy: a third of the server's busy time in that class).
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from typing import Any
from urllib.parse import parse_qs

from explorer.server.gradio_hooks import PAGE_ADDRESS_HEADERS

PATHS = ("/", "/config")  # the page a browser opens and the config a client (gradio_client) reads
KEPT = 16  # responses kept: one per address the app is reached by (a Host header is the client's to choose)
MAX_BYTES = 4 * 1024 * 1024  # a larger body is served but not kept


def page_key(scope: dict) -> tuple | None:
    """What the response to this request depends on, or None when it must not be kept."""
    if scope["type"] != "http" or scope["method"] != "GET" or scope["path"] not in PATHS:
        return None
    query = scope.get("query_string", b"").decode("latin-1")
    if "deep_link" in parse_qs(query, keep_blank_values=True):
        return None
    headers = dict(scope.get("headers") or [])
    address = tuple(headers.get(name) for name in PAGE_ADDRESS_HEADERS)
    gzip = b"gzip" in headers.get(b"accept-encoding", b"")  # as explorer.server.compression decides
    return scope["path"], query, scope.get("scheme"), scope.get("root_path", ""), address, gzip


class KeptResponse:
    """A whole response as the app sent it: its start message and its body."""

    def __init__(self, start: dict, body: bytes):
        self.start = start
        self.body = body

    async def replay(self, send: Any) -> None:
        await send({**self.start, "headers": list(self.start.get("headers", []))})
        await send({"type": "http.response.body", "body": self.body, "more_body": False})


class PageCache:
    """ASGI middleware: keep the page and the config per ``page_key`` and answer from them; all else passes."""

    def __init__(self, app: Any):
        self.app = app
        self._kept: OrderedDict[tuple, KeptResponse] = OrderedDict()
        self._filling: dict[tuple, asyncio.Future] = {}

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        key = page_key(scope)
        if key is None:
            await self.app(scope, receive, send)
            return
        kept = self._kept.get(key)
        if kept is None and key in self._filling:
            kept = await asyncio.shield(self._filling[key])  # another visitor's rendering; None if it was not kept
        if kept is not None:
            self._kept.move_to_end(key)
            await kept.replay(send)
        elif key in self._filling:
            await self.app(scope, receive, send)
        else:
            await self._fill(key, scope, receive, send)

    async def _fill(self, key: tuple, scope: dict, receive: Any, send: Any) -> None:
        """Answer from the app, keeping the response if it may be kept; visitors asking meanwhile wait for it."""
        filling = asyncio.get_running_loop().create_future()
        self._filling[key] = filling
        start: dict = {}
        body = bytearray()

        async def tee(message: dict) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body" and len(body) <= MAX_BYTES:
                body.extend(message.get("body", b""))
            await send(message)

        kept = None
        try:
            await self.app(scope, receive, tee)
            if start.get("status") == 200 and len(body) <= MAX_BYTES:
                kept = KeptResponse(dict(start), bytes(body))
                self._keep(key, kept)
        finally:
            del self._filling[key]
            filling.set_result(kept)

    def _keep(self, key: tuple, kept: KeptResponse) -> None:
        self._kept[key] = kept
        self._kept.move_to_end(key)
        while len(self._kept) > KEPT:
            self._kept.popitem(last=False)
