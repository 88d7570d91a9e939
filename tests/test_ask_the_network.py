"""explorer.demos.ask_the_network ("Ask the network", on the Add-noise tab) on the shipped models: shapes, the noisy
picture the Add-noise tab shows, the guess at small and large k, a student's picture, determinism, caching, the
chart computed once per picture, bad input."""

from __future__ import annotations

import numpy as np
import pytest

from explorer.demos import add_noise, ask_the_network


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
