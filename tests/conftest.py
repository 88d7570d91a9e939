"""Shared fixtures: ``served_app`` launches the real app once per test module on a free port; ``running_app``
is its URL and ``client`` a gradio_client connected to it."""

from __future__ import annotations

import os
import socket

import pytest

import explorer  # noqa: F401  (sets the OpenMP spin before any test imports torch)

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def served_app():
    """The app's Blocks, served in a background thread on a free port for this test module."""
    import app

    demo = app.build_app()
    app.launch(demo, server_name="127.0.0.1", server_port=_free_port(), prevent_thread_lock=True,
               quiet=True, ssr_mode=False)
    try:
        yield demo
    finally:
        demo.close()


@pytest.fixture(scope="module")
def running_app(served_app):
    """The served app's base URL ("http://127.0.0.1:PORT/")."""
    return served_app.local_url


@pytest.fixture(scope="module")
def client(running_app):
    """A gradio_client connected to this module's running app."""
    from gradio_client import Client

    return Client(running_app, verbose=False)
