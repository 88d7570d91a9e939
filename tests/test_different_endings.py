"""explorer.demos.different_endings ("Same start, different endings", on the Remove-noise tab) on the shipped
models: shapes, the rows starting as one blur and parting ways, each row its seed's own picture, determinism,
caching, bad input."""

from __future__ import annotations

import numpy as np
import pytest

from explorer import denoiser
from explorer.demos import different_endings
from explorer.sampling import DEFAULTS


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
