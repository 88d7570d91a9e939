"""explorer.demos.impossible_requests ("Ask for both", on the Mistakes tab) on the shipped diffusion and judge
models: its defaults, the one-class rows are the ordinary pictures of their seeds, determinism, bad input (its
summed steering signals: tests/test_denoiser.py)."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from explorer import denoiser, sampling
from explorer.demos import impossible_requests
from explorer.demos.cache import LRUCache

FEW = replace(sampling.DEFAULTS, steps=4)  # where a test's claim holds at any number of steps: cheaper


@pytest.fixture
def fresh_caches(monkeypatch):
    monkeypatch.setattr(impossible_requests, "_CACHE", LRUCache(4))


def test_impossible_request_defaults(fresh_caches):
    r = impossible_requests.impossible_request()
    assert (r.classes, r.class_names, r.prompt) == ((7, 8), ("Sneaker", "Bag"), "a sneaker and a bag")
    assert r.images.shape == (3, impossible_requests.PAIR_SEEDS, 28, 28) and r.images.dtype == np.uint8
    assert r.probs.shape == (3, impossible_requests.PAIR_SEEDS, 10) and np.allclose(r.probs.sum(-1), 1, atol=1e-4)
    assert [trace.name for trace in r.figure.data] == ["told: Sneaker", "told: Bag", "told: both"]
    assert r.formula == "ε = ε_u + s · [(ε_a − ε_u) + (ε_b − ε_u)]" and r.scale == sampling.DEFAULTS.guidance
    assert r.guided_steps == denoiser.get("fashion").guided_steps(sampling.DEFAULTS.steps)
    assert len(r.rows) == impossible_requests.PAIR_SEEDS and r.picture.ndim == 2
    again = impossible_requests.impossible_request()
    assert again.cached and not r.cached
    np.testing.assert_array_equal(again.images, r.images)


def test_one_class_rows_are_the_ordinary_pictures_of_their_seeds(fresh_caches, monkeypatch):
    monkeypatch.setattr(impossible_requests, "DEFAULTS", FEW)
    r = impossible_requests.impossible_request(dataset="mnist", prompt="a 3 and an 8", first_seed=5)
    model = denoiser.get("mnist")
    for row, label in ((0, 3), (1, 8)):
        alone = model.images([label] * impossible_requests.PAIR_SEEDS, list(r.seeds), FEW)  # the normal one-class path
        from explorer.data import to_uint8
        assert np.abs(to_uint8(alone).astype(int) - r.images[row].astype(int)).mean() < 1.0
    assert not np.array_equal(r.images[2], r.images[0])  # told both is another picture


def test_impossible_request_is_deterministic(fresh_caches, monkeypatch):
    monkeypatch.setattr(impossible_requests, "DEFAULTS", FEW)
    first = impossible_requests.impossible_request(dataset="mnist", first_seed=2, guidance=2)
    impossible_requests._CACHE = LRUCache(4)
    second = impossible_requests.impossible_request(dataset="mnist", first_seed=2, guidance=2)
    assert not second.cached
    np.testing.assert_array_equal(first.images, second.images)


@pytest.mark.parametrize("kwargs, message", [
    (dict(prompt="a sneaker"), "Name two Fashion classes"),
    (dict(prompt="a bag and a unicorn"), "names none"),
    (dict(guidance=math.nan), "Guidance scale must be a number between 0 and 20, got nan"),
    (dict(guidance=25), "between 0 and 20"),
    (dict(guidance="lots"), "must be a number"),
    (dict(first_seed=-1), "Seed must be a whole number"),
    (dict(first_seed=2 ** 63 - 2), "first seed must be at most"),
    (dict(dataset="cifar"), "Known datasets"),
])
def test_bad_impossible_requests(kwargs, message):
    with pytest.raises(ValueError, match=message):
        impossible_requests.impossible_request(**kwargs)
