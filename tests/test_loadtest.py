"""explorer.loadtest on a tiny load against the running app: the report's shape, never its speed."""

from __future__ import annotations

import os
import subprocess
import sys
import time

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


def test_the_flooder_is_refused_and_the_honest_users_are_served(running_app, monkeypatch):
    monkeypatch.setattr(loadtest, "MAX_COST", {"sampler": "ddim", "steps": 5})  # a cheap flood: shape, not speed
    monkeypatch.setattr(loadtest, "FLOOD_JOINS", 10)
    monkeypatch.setattr(loadtest, "ADD_NOISE_VIEWS", 2)
    report = loadtest.run(running_app, users=2, sequential=1, repeats=1, flooder=True)
    flooded = report["with_flooder"]
    assert flooded["flooder"]["refused"] > 0
    assert any("You already have 3 pictures waiting" in m for m in flooded["flooder"]["refusal_messages"])
    assert flooded["honest"]["ok"] == 2 and flooded["honest"]["failures"] == 0
    assert flooded["add_noise_view"]["ok"] == 2
    assert set(flooded["add_noise_view"]["latency_s"]) == {"p50", "p95", "max"}


def test_the_class_waits_until_a_busy_server_goes_quiet():
    busy_then_idle = "import time\nend = time.time() + 1.5\nwhile time.time() < end: pass\ntime.sleep(60)"
    busy = subprocess.Popen([sys.executable, "-c", busy_then_idle])
    idle = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        time.sleep(0.3)  # both started: the idle one's start-up is over
        waited_busy = loadtest.settle(busy.pid, quiet_s=0.5, deadline_s=30)
        waited_idle = loadtest.settle(idle.pid, quiet_s=0.5, deadline_s=30)
    finally:
        busy.kill()
        idle.kill()
    assert waited_busy >= 1.0 + 0.5  # its busy second and more, then the quiet half second
    assert 0.5 <= waited_idle < waited_busy
