"""The lesson demos on the shipped models: "Ask the network", "Same start, different endings" and "Switch the
prompt mid-run" — shapes, determinism, caching, bad input, and the claims their text makes on screen."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from explorer import denoiser
from explorer.demos import add_noise, ask_the_network, different_endings, switch_prompt
from explorer.samplers import timesteps_for
from explorer.sampling import DEFAULTS

# ----------------------------------------------------------------------------- Ask the network

def test_ask_the_network_at_its_defaults():
    r = ask_the_network.ask_the_network()
    assert (r.steps, r.seed, r.label, r.schedule) == (add_noise.DEFAULT_STEPS, 0, 0, "cosine")
    assert r.told == "told the class: T-shirt/top" and r.picture.startswith("real picture #0")
    for name in ("x0", "x_t", "noise", "x0_guess"):
        assert getattr(r, name).shape == (28, 28) and getattr(r, name).dtype == np.uint8
    assert r.noise_strip.ndim == r.picture_strip.ndim == 2 and r.noise_strip.shape[1] > 3 * ask_the_network.TILE
    assert r.chart_steps.tolist() == list(ask_the_network.CHART_STEPS) and r.chart_errors.shape == (21,)
    assert len(r.error_figure.data) == 2


def test_the_noisy_picture_is_the_one_the_add_noise_tab_shows():
    for t, seed in ((250, 0), (700, 5)):
        asked = ask_the_network.ask_the_network(gallery_index=3, t=t, seed=seed)
        shown = add_noise.add_noise(gallery_index=3, t=t, seed=seed)  # cosine, the network's own schedule
        assert np.abs(asked.x_t.astype(int) - shown.x_t.astype(int)).max() <= 1
        np.testing.assert_array_equal(asked.x0, shown.x0)


def test_the_guess_is_good_at_small_t_and_a_blur_at_large_t():
    r = ask_the_network.ask_the_network(gallery_index=7)
    errors = dict(zip(r.chart_steps.tolist(), r.chart_errors.tolist()))
    assert errors[1] < 2 < errors[500] < errors[1000]  # grey levels out of 255
    assert np.all(np.diff(r.chart_errors) > -1.0)  # it grows with t (allowing a wobble)
    small = ask_the_network.ask_the_network(gallery_index=7, t=50)
    assert small.picture_error < 10 and small.noise_error < 1.0


def test_a_students_picture_is_asked_with_no_class_and_tidied():
    ring = np.zeros((28, 28), np.uint8)
    ring[6:22, 6:22] = 255
    ring[9:19, 9:19] = 0
    r = ask_the_network.ask_the_network(image=ring, t=400)
    assert r.label is None and r.told == "told nothing (no class)" and r.picture == "your picture"
    np.testing.assert_array_equal(r.x0, ring)


def test_ask_the_network_is_deterministic_and_cached():
    args = dict(dataset="mnist", gallery_index=12, t=600, seed=42)
    first = ask_the_network.ask_the_network(**args)
    again = ask_the_network.ask_the_network(**args)
    assert not first.cached and again.cached
    for name in ("x_t", "noise", "x0_guess", "noise_strip", "picture_strip", "chart_errors"):
        np.testing.assert_array_equal(getattr(first, name), getattr(again, name))
    other = ask_the_network.ask_the_network(**{**args, "seed": 43})
    assert not np.array_equal(first.noise, other.noise)
    ask_the_network._CACHE._items.clear()  # recomputed from scratch (the chart stays cached per picture)
    recomputed = ask_the_network.ask_the_network(**args)
    np.testing.assert_array_equal(first.x0_guess, recomputed.x0_guess)


def test_the_chart_is_computed_once_per_picture(monkeypatch):
    calls = []
    real = ask_the_network._errors_at
    monkeypatch.setattr(ask_the_network, "_errors_at", lambda *a: calls.append(a) or real(*a))
    for t in (100, 300, 900):
        ask_the_network.ask_the_network(gallery_index=19, t=t, seed=77)
    assert len(calls) == 1


@pytest.mark.parametrize("kwargs, message", [
    (dict(t=0), "nothing to guess"),
    (dict(t=1001), "k must be a whole number from 1 to 1000"),
    (dict(t=2.5), "k must be a whole number"),
    (dict(seed=-1), "The seed must be a whole number"),
    (dict(gallery_index=10**6), "gallery image number"),
    (dict(dataset="cifar"), "cifar"),
    (dict(image=np.zeros((5, 5), np.uint8)), "28×28"),
])
def test_ask_the_network_refuses_bad_values(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ask_the_network.ask_the_network(**kwargs)


# ----------------------------------------------------------------------------- Same start, different endings

def test_different_endings_at_its_defaults():
    r = different_endings.different_endings()
    assert (r.class_name, r.seeds, r.steps) == ("T-shirt/top", (0, 1, 2, 3, 4, 5), DEFAULTS.steps)
    assert r.pictures.shape == (6, len(different_endings.SHOWN_STEPS) + 1, 28, 28)
    assert r.closeness.shape == r.alikeness.shape == (DEFAULTS.steps,)
    assert r.grid.ndim == 2 and len(r.figure.data) == 2


def test_rows_start_as_the_same_blur_and_part_ways():
    r = different_endings.different_endings()
    assert r.alikeness[0] > 0.9 and r.alikeness[-1] < r.alikeness[0] - 0.1  # rows alike at step 1, not at the end
    assert r.closeness[0] < r.closeness[-1] and r.closeness[-1] > 0.98  # each step closer to its own final picture
    assert np.all(np.diff(r.closeness) > -0.02)  # gradually
    finals = r.pictures[:, -1].reshape(6, -1).astype(float)
    assert len({row.tobytes() for row in r.pictures[:, -1]}) == 6 and np.ptp(finals, axis=0).mean() > 20


def test_each_row_is_its_seeds_own_picture():
    """Row i is the picture a one-picture run of seed i makes (the batch changes nothing)."""
    r = different_endings.different_endings(dataset="mnist", class_name="seven", first_seed=40)
    alone = denoiser.get("mnist").images(["seven"], 42)  # (1, 1, 28, 28)
    from explorer.data import to_uint8
    assert np.abs(to_uint8(alone)[0].astype(int) - r.pictures[2, -1].astype(int)).max() <= 2


def test_different_endings_is_deterministic_and_cached():
    first = different_endings.different_endings(class_name="Bag", first_seed=100)
    again = different_endings.different_endings(class_name=8, first_seed=100)
    assert not first.cached and again.cached
    np.testing.assert_array_equal(first.pictures, again.pictures)
    different_endings._CACHE._items.clear()
    np.testing.assert_array_equal(first.pictures, different_endings.different_endings("fashion", "Bag", 100).pictures)


@pytest.mark.parametrize("kwargs, message", [
    (dict(class_name="Horse"), "Known classes"),
    (dict(first_seed=-3), "The first seed must be a whole number"),
    (dict(first_seed="x"), "The first seed must be a whole number"),
    (dict(dataset="mnist", class_name=10), "out of range"),
])
def test_different_endings_refuses_bad_values(kwargs, message):
    with pytest.raises(ValueError, match=message):
        different_endings.different_endings(**kwargs)


# ----------------------------------------------------------------------------- Switch the prompt mid-run

def test_switch_prompt_at_its_defaults():
    r = switch_prompt.switch_prompt()
    assert (r.first_name, r.second_name, r.seed, r.steps) == ("Sneaker", "Bag", 0, switch_prompt.STEPS)
    assert r.switches == switch_prompt.SWITCHES
    assert r.pictures.shape == (len(r.switches), len(switch_prompt.SHOWN_STEPS) + 1, 28, 28)
    assert r.probabilities.shape == (len(r.switches), 21, 2) and len(r.figure.data) == 2 * len(r.switches)


@pytest.mark.parametrize("dataset", ["fashion", "mnist"])
def test_an_early_switch_gives_the_second_class_and_a_late_one_keeps_the_first(dataset):
    r = switch_prompt.switch_prompt(dataset)
    verdict = dict(zip(r.switches, r.final_classes))
    assert verdict[0] == verdict[3] == r.second_name  # the judge on the final pictures
    assert verdict[15] == verdict[switch_prompt.NEVER] == r.first_name
    assert r.probabilities[0, -1, 1] > 0.9 and r.probabilities[-1, -1, 0] > 0.9


def test_the_runs_share_one_static_and_match_plain_runs():
    """'never' is a plain run of the first class, 'from the start' one of the second, from the same static."""
    r = switch_prompt.switch_prompt("mnist", "three", "eight", seed=9)
    from explorer.data import to_uint8
    den = denoiser.get("mnist")
    for row, name in ((0, "eight"), (-1, "three")):
        alone = to_uint8(den.images([name], 9, replace(DEFAULTS, steps=switch_prompt.STEPS)))[0]
        assert np.abs(alone.astype(int) - r.pictures[row, -1].astype(int)).max() <= 2
    first_guesses = r.pictures[:, 0]  # step 1: told the same class in every run that has not switched yet
    np.testing.assert_array_equal(first_guesses[1], first_guesses[-1])


def test_the_switching_model_fn_tells_each_image_its_class_at_each_step():
    told = []

    def model_fn_for(labels):
        told.append(labels.tolist())
        return lambda x_t, t: None

    ts = timesteps_for(denoiser.get("fashion").schedule, 5)
    fn = switch_prompt.switching_model_fn(model_fn_for, 7, 8, ts, (0, 2, None))
    for t in ts:
        fn(torch.zeros(3, 1, 28, 28), t)
    assert told == [[8, 7, 7], [8, 7, 7], [8, 8, 7], [8, 8, 7], [8, 8, 7]]


def test_switch_prompt_is_deterministic_and_cached():
    first = switch_prompt.switch_prompt(seed=5)
    again = switch_prompt.switch_prompt("fashion", "Sneaker", "Bag", 5)
    assert not first.cached and again.cached
    switch_prompt._CACHE._items.clear()
    np.testing.assert_array_equal(first.pictures, switch_prompt.switch_prompt(seed=5).pictures)


@pytest.mark.parametrize("kwargs, message", [
    (dict(first_class="Bag", second_class="Bag"), "two different classes"),
    (dict(second_class="Horse"), "Known classes"),
    (dict(seed=2 ** 63), "Seed must be a whole number"),
    (dict(seed=1.5), "Seed must be a whole number"),
    (dict(dataset="cifar"), "cifar"),
])
def test_switch_prompt_refuses_bad_values(kwargs, message):
    with pytest.raises(ValueError, match=message):
        switch_prompt.switch_prompt(**kwargs)
