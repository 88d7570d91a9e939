"""explorer.demos.add_noise.add_noise: shapes, the t convention, seeds, the jump-vs-steps claim, bad input."""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go
import pytest

from explorer.data import load_gallery
from explorer.demos.add_noise import MAX_STEPS, STRIP_STEPS, add_noise


def test_shapes_types_and_defaults():
    r = add_noise()
    assert (r.steps, r.schedule) == (250, "cosine")
    assert r.picture.startswith("real picture #0")
    for image in (r.x0, r.x_t, r.noise, r.stepped):
        assert image.shape == (28, 28) and image.dtype == np.uint8
    assert r.x_t_values.shape == (28, 28)
    assert r.strip.dtype == np.uint8 and r.strip.ndim == 2
    assert r.comparison.dtype == np.uint8 and r.comparison.ndim == 2
    assert r.strip_steps == STRIP_STEPS and STRIP_STEPS[0] == 0 and STRIP_STEPS[-1] == MAX_STEPS
    assert len(STRIP_STEPS) == 8
    assert isinstance(r.schedule_figure, go.Figure) and isinstance(r.histogram_figure, go.Figure)
    assert r.signal_level ** 2 + r.noise_level ** 2 == pytest.approx(1.0)
    assert r.snr == pytest.approx(r.signal_level ** 2 / r.noise_level ** 2)
    np.testing.assert_array_equal(r.x0, load_gallery("fashion")[0][0])


def test_t_zero_is_the_clean_image():
    r = add_noise("mnist", 7, t=0, schedule="linear", seed=3)
    np.testing.assert_array_equal(r.x_t, r.x0)
    np.testing.assert_array_equal(r.stepped, r.x0)
    assert (r.signal_level, r.noise_level, r.snr) == (1.0, 0.0, math.inf)
    assert np.all(r.noise == 128)  # no noise: flat mid-grey
    assert r.jump_stats.noise_mean is None


@pytest.mark.parametrize("schedule", ["cosine", "linear"])
def test_t_max_is_pure_standard_normal_noise(schedule):
    r = add_noise(t=MAX_STEPS, schedule=schedule)
    assert r.signal_level < 0.01
    for stats in (r.jump_stats, r.stepped_stats):
        assert abs(stats.mean) < 0.15 and abs(stats.std - 1) < 0.1


def test_same_seed_same_pictures_other_seed_other_noise():
    a, b, c = add_noise(seed=5), add_noise(seed=5), add_noise(seed=6)
    for name in ("x_t", "noise", "strip", "stepped", "comparison"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert not np.array_equal(a.x_t, c.x_t)
    assert not np.array_equal(a.stepped, c.stepped)


def test_jump_and_small_steps_agree_in_distribution_not_in_pixels():
    r = add_noise(t=500, seed=1)
    for stats in (r.jump_stats, r.stepped_stats):
        assert abs(stats.noise_mean) < 0.15  # 784 pixels: standard error ≈ 0.036
        assert abs(stats.noise_std - 1) < 0.1
    assert not np.array_equal(r.x_t, r.stepped)


def test_an_uploaded_image_overrides_the_gallery():
    image = np.zeros((28, 28), dtype=np.uint8)
    image[8:20, 12:16] = 255
    r = add_noise(image=image, t=0)
    np.testing.assert_array_equal(r.x_t, image)
    assert r.picture == "your picture"


@pytest.mark.parametrize("kwargs, message", [
    (dict(t=-1), "from 0 to 1000"),
    (dict(t=1001), "from 0 to 1000"),
    (dict(t=2.5), "whole number"),
    (dict(t=float("nan")), "whole number"),
    (dict(t="ten"), "whole number"),
    (dict(seed=-1), "seed"),
    (dict(seed=2 ** 63), "seed"),
    (dict(gallery_index=200), "Fashion has 200 real images"),
    (dict(dataset="cifar"), "Known datasets"),
    (dict(schedule="quadratic"), "linear, cosine"),
    (dict(image=np.zeros((32, 32), dtype=np.uint8)), "28×28"),
    (dict(image=np.full((28, 28), 300.0)), "0 \\(black\\) to 255"),
])
def test_bad_arguments_say_what_is_wrong(kwargs, message):
    with pytest.raises(ValueError, match=message):
        add_noise(**kwargs)


def test_whole_floats_are_accepted():
    assert add_noise(t=10.0, gallery_index=3.0, seed=2.0).steps == 10


def test_at_pure_static_the_picture_and_the_static_added_look_the_same():
    """The static is drawn at the strength it has in the picture (√(1−ᾱ)·ε, the picture's own scale)."""
    r = add_noise(t=MAX_STEPS, seed=4)
    assert np.abs(r.x_t.astype(int) - r.noise.astype(int)).max() <= 2
    faint = add_noise(t=20, seed=4)  # little static added: the static picture is nearly mid-grey
    assert np.abs(faint.noise.astype(int) - 128).mean() < np.abs(r.noise.astype(int) - 128).mean() / 3
