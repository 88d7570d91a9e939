"""Where guidance applies (explorer.demos.guidance, the Guidance tab): the interval sentence says what the model's
config.json says and is read from the model, not typed; the grid says where guidance applied and "guide every
step" changes only the columns with s above 1; the toggle must be true or false; the steering rows in words.

Runs the shipped diffusion and judge models (or ``$EXPLORER_MODEL_STORE``'s) with few steps.
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from explorer import denoiser, registry, sampling
from explorer.data import DATASETS
from explorer.demos import guidance
from explorer.demos.cache import LRUCache
from explorer.samplers import timesteps_for
from explorer.schedules import make_schedule

FEW = dict(steps=4)


@pytest.fixture
def fresh_caches(monkeypatch):
    monkeypatch.setattr(guidance, "_CACHE", LRUCache(4))


def _steps_inside(dataset: str, steps: int) -> list[int]:
    """Independently of the demo: the 1-based steps whose timestep lies in config.json's interval."""
    config = json.loads((registry.MODEL_STORE / f"{dataset}-diffusion" / "config.json").read_text())
    lo, hi = config["sampling"]["guidance_interval"]
    schedule = make_schedule(config["schedule"]["name"], config["schedule"]["num_timesteps"])
    return [i + 1 for i, t in enumerate(timesteps_for(schedule, steps)) if lo <= t <= hi]


@pytest.mark.parametrize("dataset", list(DATASETS))
def test_the_interval_sentence_says_what_the_config_says(dataset):
    inside = _steps_inside(dataset, sampling.DEFAULTS.steps)
    assert 0 < len(inside) < sampling.DEFAULTS.steps and inside == list(range(inside[0], inside[-1] + 1))
    sentence = guidance.interval_sentence(dataset)
    assert f"steps {inside[0]}–{inside[-1]} of {sampling.DEFAULTS.steps}" in sentence
    assert f"steps 1–{inside[0] - 1}, the noisiest" in sentence


def test_the_interval_sentence_is_read_from_the_model_not_typed(monkeypatch):
    real = denoiser.get("fashion")
    monkeypatch.setattr(denoiser, "get",
                        lambda dataset, device=None: dataclasses.replace(real, guidance_interval=(0, 300)))
    sentence = guidance.interval_sentence("fashion", steps=20)
    assert "steps 15–20 of 20" in sentence and "steps 1–14, the noisiest" in sentence


def test_the_grid_says_where_guidance_applied_and_every_step_changes_only_s_above_1(fresh_caches):
    measured = guidance.guidance_grid(scales="0, 1, 4", seeds=2, **FEW)
    every = guidance.guidance_grid(scales="0, 1, 4", seeds=2, guide_every_step=True, **FEW)
    assert list(measured.guided_steps) == _steps_inside("fashion", 4) and measured.interval == (0, 550)
    assert every.every_step and every.interval is None and every.guided_steps == (1, 2, 3, 4)
    assert "steps 3–4 of 4" in measured.interval_note and "Guide every step is on" in every.interval_note
    np.testing.assert_array_equal(measured.images[:, :2], every.images[:, :2])  # s ≤ 1 never changes
    assert not np.array_equal(measured.images[:, 2], every.images[:, 2])  # s = 4 on the noisy steps too


def test_guide_every_step_must_be_true_or_false():
    with pytest.raises(ValueError, match="'Guide every step' must be true or false, got 'yes'"):
        guidance.guidance_grid(guide_every_step="yes")


def test_steering_rows_are_told_in_words(fresh_caches):
    assert guidance.STEERING_ROWS[:2] == ("told nothing", "told the class")
    assert guidance.step_ranges((1, 2, 3, 7, 9, 10)) == "1–3, 7 and 9–10"
