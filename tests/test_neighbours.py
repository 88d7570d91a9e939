"""explorer.neighbours: the shipped training subset (small, balanced, plain arrays, made of the training pictures
it names) and its distances (root-mean-square brightness differences)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from explorer import neighbours
from explorer.data import DATASETS, load_split


@pytest.mark.parametrize("dataset", list(DATASETS))
def test_the_shipped_subset_is_small_balanced_and_plain_arrays(dataset):
    path = neighbours.subset_path(dataset)
    assert path.stat().st_size < 3_000_000
    with np.load(path, allow_pickle=False) as f:  # no pickle needed to read any array
        assert set(f.files) == {"images", "labels", "train_index", "typical_distance", "total_train"}
    subset = neighbours.load(dataset)
    assert subset.images.shape[1:] == (28, 28) and subset.images.dtype == np.uint8
    counts = np.bincount(subset.labels, minlength=10)
    assert len(set(counts.tolist())) == 1 and counts[0] >= 500  # the same number of every class
    assert subset.typical_distance.shape == (10,)
    assert np.all((0 < subset.typical_distance) & (subset.typical_distance < 1))


def test_the_subset_is_made_of_training_pictures_where_it_says():
    subset = neighbours.load("mnist")
    try:
        images, labels = load_split("mnist", "train")
    except FileNotFoundError:
        pytest.skip("the training data is not on this machine")
    assert subset.total_train == len(images)
    np.testing.assert_array_equal(images[subset.train_index], subset.images)
    np.testing.assert_array_equal(labels[subset.train_index], subset.labels)


def test_distances_are_root_mean_square_brightness_differences():
    subset = neighbours.load("fashion")
    index, distance = neighbours.nearest(subset.images[[5, 700]], subset, k=2)
    assert list(index[:, 0]) == [5, 700] and np.allclose(distance[:, 0], 0, atol=1e-3)
    a, b = subset.images[5].astype(float) / 255, subset.images[index[0, 1]].astype(float) / 255
    assert distance[0, 1] == pytest.approx(math.sqrt(((a - b) ** 2).mean()), abs=1e-4)
    black, white = np.zeros((1, 28, 28), np.uint8), np.full((1, 28, 28), 255, np.uint8)
    assert float(neighbours.distances(neighbours.flatten(black), neighbours.flatten(white))) == pytest.approx(1.0)
