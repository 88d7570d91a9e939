"""The guidance-interval sweep: one row per (scale, upper end), each scored with the interval it names.

Made at 4 sampling steps instead of the app's 16 (the order and the settings of the rows do not depend on the
number of steps; both intervals still hold a different number of them)."""

from dataclasses import replace

from explorer import sampling
from explorer.tools import evaluate

FEW_STEPS = 4


def test_interval_sweep_scores_each_scale_and_interval_in_order(monkeypatch):
    monkeypatch.setattr(sampling, "DEFAULTS", replace(sampling.DEFAULTS, steps=FEW_STEPS))
    reference = evaluate.real_reference("mnist", 2)
    rows = list(evaluate.interval_sweep("mnist", [2.0, 3.0], [400, 550], 2, reference, seed=5))
    assert [(r["guidance"], r["interval"]) for r in rows] == [(2.0, [0, 400]), (2.0, [0, 550]),
                                                              (3.0, [0, 400]), (3.0, [0, 550])]
    for r in rows:
        assert r["settings"]["guidance"] == r["guidance"]
        assert r["settings"]["guidance_interval"] == (0, r["interval"][1])
        assert r["settings"]["steps"] == FEW_STEPS
        assert r["seed"] == 5 and r["n_images"] == 20 and 0.0 <= r["recognition"] <= 1.0
