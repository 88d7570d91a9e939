"""Shared fixtures: ``served_app`` launches the real app once per test module on a free port; ``running_app``
is its URL and ``client`` a gradio_client connected to it; ``free_port`` gives free ports to a test that starts a
server of its own in a subprocess.

Test tiers (markers registered in pyproject.toml, applied here so no test file needs to mark itself):
``server`` for a test that serves an app (the served app; or its own, through ``free_port`` or a module's
``served`` fixture), ``browser`` for one that drives Chromium (it serves the app too). The quick tier is
``python -m pytest -q -m "not server and not browser"``.
"""

from __future__ import annotations

import os
import socket

import pytest

import explorer  # noqa: F401  (sets the OpenMP spin before any test imports torch)

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
# One precision for every batch size, so that tests comparing a batch with one-picture runs of the same seeds are
# exact whatever a timing chose: with bf16 chosen, explorer.precision runs small calls in fp32 (by a timing that
# differs on a busy machine). tests/test_precision.py covers the choice itself (its fixture clears this), and
# tests/test_denoiser.py bounds what bf16 changes in a picture.
os.environ.setdefault("EXPLORER_PRECISION", "fp32")
# Every call on all of torch's threads, for the same reason (fp32 sums in another order on one thread: ~1e-6 apart)
# and no timing at each model's build; tests/test_call_threads.py covers the choice itself.
os.environ.setdefault("EXPLORER_CALL_THREADS", "all")


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


@pytest.fixture
def free_port():
    """For a test that starts a server in a subprocess (which makes it a ``server`` test): a function that
    returns a free port on 127.0.0.1 at each call."""
    return _free_port


SERVER_FIXTURES = {"served_app", "running_app", "client", "free_port",
                   "served"}  # a test module's own served app (test_connections serves a page of its own)
BROWSER_FIXTURES = {"browser", "app_page"}  # tests/browser_pages.py


def pytest_collection_modifyitems(config, items):
    """Mark each test ``server`` and/or ``browser`` by the fixtures it uses (directly or through others);
    every test in a ``test_browser*.py`` file is a browser test, and a browser test also serves the app."""
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        browser = bool(fixtures & BROWSER_FIXTURES) or item.path.name.startswith("test_browser")
        if browser:
            item.add_marker(pytest.mark.browser)
        if browser or fixtures & SERVER_FIXTURES:
            item.add_marker(pytest.mark.server)
