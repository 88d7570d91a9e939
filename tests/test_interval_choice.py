"""The guidance interval is chosen and written by code: the rule, on the shipped model's own measured grid."""

from __future__ import annotations

import json
import shutil

import pytest

from explorer import cards, checkpoints, registry
from explorer.tools import evaluate

SHIPPED = registry.MODEL_STORE / "fashion-diffusion"


def _fashion_grid() -> list[dict]:
    return cards.read_metrics(SHIPPED)["guidance_interval_grid_cpu"]["rows"]


def test_the_rule_picks_the_shipped_interval_from_its_measured_grid():
    choice = evaluate.choose_interval("fashion", _fashion_grid())
    assert (choice["guidance"], choice["interval"]) == (3.0, [0, 550])
    assert choice["interval"] == checkpoints.read_config(SHIPPED)["sampling"]["guidance_interval"]


def test_a_grid_where_nothing_meets_the_targets_is_refused():
    rows = [{"guidance": 3.0, "interval": [0, 800], "seed": 0, "recognition": 0.99, "frechet_ratio": 4.9}]
    with pytest.raises(ValueError, match="No guidance interval meets both targets"):
        evaluate.choose_interval("fashion", rows)


def test_write_interval_writes_config_and_card_and_leaves_the_weights(tmp_path, monkeypatch):
    store = tmp_path / "store"
    shutil.copytree(SHIPPED, store / "fashion-diffusion")
    monkeypatch.setattr(registry, "MODEL_STORE", store)
    before = checkpoints.read_config(store / "fashion-diffusion")
    section = evaluate.write_interval("fashion", _fashion_grid(), "explorer evaluate --sweep interval", "test machine")
    after = checkpoints.read_config(store / "fashion-diffusion")
    assert after["sampling"] == section and section["guidance_interval"] == [0, 550]
    assert after["weights_sha256"] == before["weights_sha256"]
    assert {k: v for k, v in after.items() if k != "sampling"} == {k: v for k, v in before.items() if k != "sampling"}
    card = (store / "fashion-diffusion" / "README.md").read_text()
    assert "written by `explorer evaluate --sweep interval`" in card
    grid = json.loads((store / "fashion-diffusion" / "metrics.json").read_text())["guidance_interval_grid"]
    assert grid["rows"] == _fashion_grid()
    checkpoints.load_model(store / "fashion-diffusion")  # still loads: checksum intact


def test_the_rule_keeps_to_the_app_s_scale_and_picks_the_shipped_digits_interval():
    rows = evaluate.measured_grid("mnist", "guidance_interval_sweep")
    assert {r["guidance"] for r in rows} > {3.0}  # other scales were measured too, and are ignored
    choice = evaluate.choose_interval("mnist", rows)
    assert (choice["guidance"], choice["interval"]) == (3.0, [0, 550])
    with pytest.raises(ValueError, match="no rows at the app's guidance scale s = 7"):
        evaluate.choose_interval("mnist", rows, scale=7.0)
