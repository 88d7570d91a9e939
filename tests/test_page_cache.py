"""The page and its config are made once per address (explorer.server.page_cache): what is kept, under which key,
how many, and that visitors arriving together wait for one rendering. Against a counting ASGI app; that the kept
page is the page Gradio makes is checked against the served app in tests/test_served_page.py."""

from __future__ import annotations

import asyncio

from explorer.server import page_cache
from explorer.server.page_cache import PageCache


class CountingApp:
    """An ASGI app that answers every request with its path, query and Host, and counts the requests it renders."""

    def __init__(self, status: int = 200, delay_s: float = 0.0, body_bytes: int = 0):
        self.renders = 0
        self.status = status
        self.delay_s = delay_s
        self.body_bytes = body_bytes

    async def __call__(self, scope, receive, send) -> None:
        self.renders += 1
        await asyncio.sleep(self.delay_s)
        headers = dict(scope["headers"])
        body = f"{scope['path']}?{scope['query_string'].decode()} {headers.get(b'host', b'').decode()} #{self.renders}"
        body = body.encode() + b"x" * self.body_bytes
        await send({"type": "http.response.start", "status": self.status,
                    "headers": [(b"content-type", b"text/plain"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body, "more_body": False})


def _scope(path: str = "/", query: str = "", host: str = "class.example", method: str = "GET",
           encoding: str = "gzip") -> dict:
    return {"type": "http", "method": method, "path": path, "query_string": query.encode(), "scheme": "http",
            "root_path": "", "headers": [(b"host", host.encode()), (b"accept-encoding", encoding.encode())]}


async def _get(middleware: PageCache, **request) -> tuple[int, bytes]:
    sent: list[dict] = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    await middleware(_scope(**request), receive, send)
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return sent[0]["status"], body


def _run(coroutine):
    return asyncio.run(coroutine)


def test_the_page_is_rendered_once_and_then_answered_from_the_kept_copy():
    app = CountingApp()
    cache = PageCache(app)

    async def twice():
        return await _get(cache), await _get(cache)

    first, second = _run(twice())
    assert app.renders == 1
    assert first == second == (200, b"/? class.example #1")


def test_what_the_page_depends_on_keeps_its_own_copy():
    app = CountingApp()
    cache = PageCache(app)

    async def each_once_then_again():
        variants = [{}, {"host": "other.example"}, {"encoding": "identity"}, {"query": "view=present"},
                    {"path": "/config"}]
        firsts = [await _get(cache, **v) for v in variants]
        agains = [await _get(cache, **v) for v in variants]
        return firsts, agains

    firsts, agains = _run(each_once_then_again())
    assert app.renders == 5
    assert firsts == agains
    assert len({body for _, body in firsts}) == 5


def test_deep_links_other_paths_other_methods_and_failures_are_never_kept():
    async def twice(app, **request):
        cache = PageCache(app)
        await _get(cache, **request)
        await _get(cache, **request)
        return app.renders

    assert _run(twice(CountingApp(), query="deep_link=abc")) == 2
    assert _run(twice(CountingApp(), query="deep_link=")) == 2
    assert _run(twice(CountingApp(), path="/gradio_api/info")) == 2
    assert _run(twice(CountingApp(), method="HEAD")) == 2
    assert _run(twice(CountingApp(status=500))) == 2
    assert _run(twice(CountingApp(body_bytes=page_cache.MAX_BYTES + 1))) == 2


def test_at_most_kept_addresses_are_kept_the_least_recently_used_goes_first():
    app = CountingApp()
    cache = PageCache(app)

    async def fill_past_the_bound():
        await _get(cache, host="teacher.example")
        for n in range(page_cache.KEPT):
            await _get(cache, host=f"h{n}.example")
            await _get(cache, host="teacher.example")  # the teacher's address stays in use
        await _get(cache, host="h0.example")  # the least recently used went

    _run(fill_past_the_bound())
    assert app.renders == 1 + page_cache.KEPT + 1
    assert len(cache._kept) == page_cache.KEPT


def test_thirty_first_visitors_at_once_wait_for_one_rendering():
    app = CountingApp(delay_s=0.05)
    cache = PageCache(app)

    async def class_at_once():
        return await asyncio.gather(*[_get(cache) for _ in range(30)])

    answers = _run(class_at_once())
    assert app.renders == 1
    assert set(answers) == {(200, b"/? class.example #1")}


def test_a_failed_rendering_lets_the_waiting_visitors_render_their_own():
    app = CountingApp(status=503, delay_s=0.05)
    cache = PageCache(app)

    async def three_at_once():
        return await asyncio.gather(*[_get(cache) for _ in range(3)])

    answers = _run(three_at_once())
    assert [status for status, _ in answers] == [503, 503, 503]
    assert app.renders >= 2  # the first failed and was not kept: the others asked Gradio themselves
