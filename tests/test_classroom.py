"""explorer.tools.classroom on a tiny class against the running app: the report's shape, never its speed."""

from __future__ import annotations

import dataclasses
import os

import pytest

from explorer.tools import classroom


def test_a_tiny_mixed_class_loads_the_page_and_gets_a_result_on_every_tab(running_app, monkeypatch):
    trainer = dataclasses.replace(classroom.TOY_TRAINER, settings=(("train_steps", 100),))  # a short press of Train
    tiny = {"students": [classroom.REMOVE_NOISE, classroom.GUIDANCE, classroom.ODD_ONES, trainer], "flooder": False}
    monkeypatch.setitem(classroom.SCENARIOS, "tiny", tiny)
    report = classroom.run(["tiny"], running_app, pid=os.getpid())  # the app runs in this process
    assert "About this server" in report["server"] and ("bf16" in report["server"] or "fp32" in report["server"])
    tiny_class = report["tiny"]
    assert tiny_class["all"]["ok"] == 4 and tiny_class["all"]["failures"] == 0, tiny_class["all"]
    assert set(tiny_class["by_tab"]) == {"Remove noise", "Guidance", "Mistakes: odd ones out", "Toy in 2-D: Train"}
    for tab in tiny_class["by_tab"].values():
        assert tab["ok"] == 1
        assert tab["page_bytes"] > 100_000  # the page and its scripts, not an error page
        assert tab["result_s"]["first"] == tab["result_s"]["last"] >= tab["page_load_s"]["last"]
    assert tiny_class["flooder"] is None
    assert report["peak_rss_mb"] >= report["rss_mb_at_start"] > 0


def test_an_unknown_scenario_is_refused_before_anything_starts():
    with pytest.raises(ValueError, match="Unknown class scenario"):
        classroom.run(["everyone"], "http://127.0.0.1:9/")
