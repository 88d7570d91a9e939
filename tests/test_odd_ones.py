"""explorer.demos.odd_ones ("Odd ones out", on the Mistakes tab) on the shipped diffusion and judge models: the
odd ones are the judge's least convinced, their neighbours the nearest training pictures, each picture its seed's
own, the sentences follow the numbers, crispness, the cache, the fast copy or the full model, bad input.

The 64-picture run is made once per module.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from explorer import denoiser, neighbours, sampling
from explorer.data import DATASETS, to_uint8
from explorer.demos import odd_ones
from explorer.demos.cache import LRUCache

FEW = replace(sampling.DEFAULTS, steps=4)  # where a test's claim holds at any number of steps: cheaper


@pytest.fixture
def fresh_caches(monkeypatch):
    monkeypatch.setattr(odd_ones, "_CACHE", LRUCache(4))


@pytest.fixture(scope="module")
def odd_default():
    """The 64-picture run at the defaults, made once for the module."""
    return odd_ones.odd_ones_out()


def test_odd_ones_are_the_judges_least_convinced(odd_default):
    r = odd_default
    assert (r.dataset, r.label, r.class_name) == ("fashion", 0, "T-shirt/top")
    assert r.images.shape == (odd_ones.ODD_BATCH, 28, 28) and r.seeds == tuple(range(odd_ones.ODD_BATCH))
    assert len(r.odd) == odd_ones.SHOWN
    assert set(r.odd.tolist()) == set(np.argsort(r.probability, kind="stable")[:odd_ones.SHOWN].tolist())
    assert np.all(np.diff(r.probability[r.odd]) >= 0)  # least like the class first
    assert r.recognised == int((r.judge_top == 0).sum())
    assert r.overview.ndim == 3 and r.overview.shape[2] == 3 and r.odd_picture.ndim == 2
    assert len(r.rows) == odd_ones.SHOWN and len(r.sentences) == 2


def test_the_neighbours_are_the_nearest_training_pictures(odd_default):
    r = odd_default
    subset = neighbours.load("fashion")
    brute = neighbours.distances(neighbours.flatten(r.images[r.odd]), subset.flat).double().numpy()  # (8, N)
    np.testing.assert_allclose(np.sort(brute, axis=1)[:, :odd_ones.NEIGHBOURS], r.neighbour_distances, atol=1e-5)
    assert np.all(np.diff(r.neighbour_distances, axis=1) >= 0)
    assert r.typical_distance == pytest.approx(float(subset.typical_distance[0]))


def test_each_picture_is_its_seeds_own_picture(odd_default):
    r = odd_default
    i = int(r.odd[0])
    from explorer.data import to_uint8
    family = odd_ones.MADE_BY[r.made_by]  # the default: the fast copy
    alone = to_uint8(denoiser.get("fashion", family=family).images([0], [r.seeds[i]]))[0]
    assert np.abs(alone.astype(int) - r.images[i].astype(int)).mean() < 1.0


def test_the_sentences_follow_the_numbers():
    crisp, copy = odd_ones._odd_sentences("Bag", 0.05, 0.05, np.array([0.2, 0.3]), 0.15, [3, 4])
    assert "as crisply as" in crisp and "None copies a shipped training picture" in copy and "0.15 apart" in copy
    crisp, copy = odd_ones._odd_sentences("Bag", 0.03, 0.05, np.array([0.2, 0.01]), 0.15, [3, 4])
    assert "less crisply" in crisp and "seed 4 is 0.01 from a training picture" in copy
    assert "more crisply" in odd_ones._odd_sentences("Bag", 0.08, 0.05, np.array([0.2]), 0.1, [1])[0]


def test_crispness_is_lower_for_a_blurred_picture():
    sharp = np.zeros((1, 28, 28), np.uint8)
    sharp[:, 7:21, 7:21] = 255
    blurred = np.zeros((1, 28, 28), np.uint8)
    blurred[:, 4:24, 4:24] = 80
    blurred[:, 8:20, 8:20] = 160
    assert odd_ones.crispness(sharp) > odd_ones.crispness(blurred) > 0


def test_odd_ones_out_repeated_comes_from_the_cache(odd_default, monkeypatch):
    def no_model(*args, **kwargs):
        raise AssertionError("the model ran again")

    monkeypatch.setattr(odd_ones, "_odd_run", no_model)
    again = odd_ones.odd_ones_out("fashion", "T-shirt/top", 0)
    assert again.cached
    np.testing.assert_array_equal(again.images, odd_default.images)


@pytest.mark.parametrize("dataset", list(DATASETS))
def test_odd_ones_out_is_made_by_the_fast_copy_unless_the_full_model_is_asked_for(dataset, fresh_caches, monkeypatch):
    monkeypatch.setattr(odd_ones, "ODD_BATCH", 3)
    monkeypatch.setattr(odd_ones, "SHOWN", 2)
    monkeypatch.setattr(odd_ones, "DEFAULTS", FEW)
    assert odd_ones.shipped_makers(dataset) == ["fast copy", "full model"]  # both shipped for every dataset
    default = odd_ones.odd_ones_out(dataset, 1, 10)
    full = odd_ones.odd_ones_out(dataset, 1, 10, "full model")
    assert (default.made_by, full.made_by) == ("fast copy", "full model")
    for result, family in ((default, "distilled"), (full, "diffusion")):
        made = denoiser.get(dataset, family=family).images([1] * 3, list(range(10, 13)), FEW)
        np.testing.assert_array_equal(result.images, to_uint8(made))
    assert not np.array_equal(default.images, full.images)


@pytest.mark.parametrize("kwargs, message", [
    (dict(made_by="the teacher"), "Made by must be one of: fast copy, full model; got 'the teacher'"),
    (dict(class_name="Horse"), "Known classes"),
    (dict(class_name=3.5), "Class must be a class name or a whole number"),
    (dict(first_seed=-1), "Seed must be a whole number"),
    (dict(first_seed=1.5), "Seed must be a whole number"),
    (dict(first_seed=2 ** 63 - 10), "first seed must be at most"),
    (dict(dataset="cifar"), "Known datasets"),
])
def test_bad_odd_ones_out(kwargs, message):
    with pytest.raises(ValueError, match=message):
        odd_ones.odd_ones_out(**kwargs)
