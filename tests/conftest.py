"""Shared fixtures: ``running_app`` launches the real app once per test module on a free port."""

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
def running_app():
    """The app served in a background thread; yields its base URL ("http://127.0.0.1:PORT/")."""
    import app

    demo = app.build_app()
    app.launch(demo, server_name="127.0.0.1", server_port=_free_port(), prevent_thread_lock=True,
               quiet=True, ssr_mode=False)
    try:
        yield demo.local_url
    finally:
        demo.close()


@pytest.fixture(scope="module")
def client(running_app):
    """A gradio_client connected to this module's running app."""
    from gradio_client import Client

    return Client(running_app, verbose=False)
