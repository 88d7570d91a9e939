"""The page and its config as a browser gets them: compressed (explorer.server.compression), which Gradio's own
compression skips, while the event stream and other routes are left as they are; and kept once made
(explorer.server.page_cache) without changing a byte of what Gradio makes. Against the app served for this module."""

from __future__ import annotations

import gzip

import httpx


def _get(url: str, encoding: str | None) -> httpx.Response:
    headers = {"Accept-Encoding": encoding} if encoding else {"Accept-Encoding": "identity"}
    with httpx.Client(timeout=60) as http:
        return http.get(url, headers=headers)


def test_the_page_and_its_config_come_gzipped_and_whole(running_app):
    for path in ("", "config"):
        plain = _get(running_app + path, None)
        packed = _get(running_app + path, "gzip")
        assert plain.status_code == packed.status_code == 200
        assert "content-encoding" not in plain.headers
        assert packed.headers["content-encoding"] == "gzip"
        assert len(packed.content) == len(plain.content)  # httpx unpacks it: the same page
        raw = int(packed.headers["content-length"])
        assert raw < len(plain.content) / 4, f"/{path}: {raw} bytes sent for {len(plain.content)}"


def test_the_compressed_bytes_are_gzip(running_app):
    with httpx.Client(timeout=60) as http, http.stream("GET", running_app, headers={"Accept-Encoding": "gzip"}) as r:
        packed = b"".join(r.iter_raw())
    assert gzip.decompress(packed).startswith(b"<!")


def test_other_routes_are_left_to_gradio(running_app):
    info = _get(running_app + "gradio_api/queue/status", "gzip")
    assert info.status_code == 200 and "content-encoding" not in info.headers


def test_the_kept_page_is_the_page_gradio_makes(running_app):
    with httpx.Client(timeout=60) as http:
        kept = [http.get(running_app) for _ in range(2)]
        fresh = http.get(running_app, params={"deep_link": ""})  # never kept: Gradio renders it
        config = [http.get(running_app + "config") for _ in range(2)]
    assert kept[0].status_code == kept[1].status_code == fresh.status_code == 200
    assert kept[0].content == kept[1].content == fresh.content
    assert config[0].json() == config[1].json() and config[0].json()["components"]
