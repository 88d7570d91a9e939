"""explorer.loadtest on a tiny load against the running app: the report's shape, never its speed."""

from __future__ import annotations

import os

from explorer.tools import loadtest


def test_a_tiny_load_test_reports_latency_memory_and_the_cache(running_app):
    report = loadtest.run(running_app, users=2, sequential=1, repeats=1, pid=os.getpid())  # the app runs in here
    assert report["client"]["ssl_verify"] is False  # plain http: no TLS to verify
    assert report["concurrent"]["ok"] == 2 and report["concurrent"]["failures"] == 0
    assert set(report["concurrent"]["latency_s"]) == {"p50", "p95", "max"}
    assert report["sequential"]["ok"] == 1 and report["sequential"]["rss_mb_after_last_50"] > 0
    assert report["cached"]["answered_from_cache"] == 1
    browser = report["cached"]["browser_like"]  # the same request as a browser sends it
    assert browser["failures"] == 0 and browser["answered_from_cache"] == 1
    assert set(browser["latency_s"]) == {"p50", "p95", "max"}
    assert len(report["sequential"]["rss_mb_every_50"]) == 1  # one reading: after the last request
    assert report["peak_rss_mb"] >= report["rss_mb_at_start"] > 0
