"""explorer.server.serving's connection limits: a request head must come in time, open connections are capped
per address, keep-alive still works, and a repeated error is logged a few times a minute, not thousands."""

from __future__ import annotations

import logging
import socket
import time

import gradio as gr
import httpx
import pytest

from explorer.server import serving


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def served():
    mp = pytest.MonkeyPatch()
    mp.setattr(serving, "HEADER_TIMEOUT_S", 1.0)
    mp.setattr(serving, "CONNECTIONS_PER_ADDRESS", 6)
    mp.delenv("SPACE_ID", raising=False)
    mp.delenv("EXPLORER_TRUSTED_PROXIES", raising=False)
    with gr.Blocks() as demo:
        gr.Markdown("hello")
    port = _free_port()
    serving.launch(demo, server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True,
                   ssr_mode=False)
    try:
        yield f"http://127.0.0.1:{port}/", port
    finally:
        demo.close()
        mp.undo()


def _closed_by_server(sock: socket.socket, within_s: float) -> bool:
    sock.settimeout(within_s)
    try:
        return sock.recv(1024) == b""
    except (socket.timeout, TimeoutError):
        return False
    except ConnectionResetError:
        return True


def test_a_connection_that_never_finishes_its_request_head_is_closed(served):
    url, port = served
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ")  # and then nothing
    started = time.monotonic()
    assert _closed_by_server(sock, 5)
    assert time.monotonic() - started < 4
    silent = socket.create_connection(("127.0.0.1", port))  # one that sends nothing at all
    assert _closed_by_server(silent, 5)
    assert httpx.get(url + "config", timeout=10).status_code == 200  # the server still serves


def test_at_the_cap_a_newcomer_takes_the_place_of_the_oldest_connection_waiting_for_its_head(served):
    url, port = served
    time.sleep(1.5)  # the other tests' connections are gone
    held = [socket.create_connection(("127.0.0.1", port)) for _ in range(serving.CONNECTIONS_PER_ADDRESS)]
    for sock in held:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ")  # half a head each, as a slow script sends
    newcomer = socket.create_connection(("127.0.0.1", port))
    newcomer.sendall(b"GET /config HTTP/1.1\r\nHost: x\r\n\r\n")
    newcomer.settimeout(5)
    assert newcomer.recv(64).startswith(b"HTTP/1.1 200")  # a student behind the same address is served
    assert _closed_by_server(held[0], 2)  # ... in the place of the oldest half-sent head
    for sock in [*held, newcomer]:
        sock.close()


def test_at_the_cap_with_every_connection_answering_a_newcomer_is_closed(served):
    url, port = served
    time.sleep(1.5)
    streams = [socket.create_connection(("127.0.0.1", port)) for _ in range(serving.CONNECTIONS_PER_ADDRESS)]
    for i, sock in enumerate(streams):  # a heartbeat stream stays open: its response is in progress
        sock.sendall(f"GET /gradio_api/heartbeat/s{i} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        sock.settimeout(5)
        assert sock.recv(64).startswith(b"HTTP/1.1 200")
    extra = socket.create_connection(("127.0.0.1", port))
    assert _closed_by_server(extra, 2)
    for sock in streams:
        sock.close()
    time.sleep(0.3)
    assert httpx.get(url + "config", timeout=10).status_code == 200


def test_keep_alive_serves_several_requests_on_one_connection(served):
    url, _ = served
    with httpx.Client(timeout=10) as client:
        for _ in range(3):
            assert client.get(url + "config").status_code == 200
            time.sleep(0.1)


def test_the_server_gets_the_settings(served):
    from gradio import http_server

    assert getattr(http_server.Server, "_bounded", False)


def test_a_repeated_error_is_logged_a_few_times_then_counted():
    limiter = serving.RepeatFilter(limit=3, window_s=0.3)
    record = lambda: logging.LogRecord("asyncio", logging.ERROR, __file__, 1, "socket.accept() out of system resource",  # noqa: E731
                                       None, (OSError, OSError(24, "Too many open files"), None))
    kept = [limiter.filter(record()) for _ in range(1000)]
    assert sum(kept) == 3
    assert limiter.filter(logging.LogRecord("asyncio", logging.ERROR, __file__, 1, "another message", None, None))
    time.sleep(0.35)
    later = record()
    assert limiter.filter(later) and "997 more like this" in later.getMessage()
