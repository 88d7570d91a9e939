"""The "Finish my drawing" demo (explorer.demos.finish_drawing) and the sampler starting mid-schedule.

"Equals" at k = 1000 means: the run takes exactly the timesteps of a run from pure static, starts from the same
seed's static (off by √ᾱ_999·(picture − static), √ᾱ_999 ≈ 5e-5), and its finished picture matches the picture made
from pure static with the same seed, class and settings to within 2 grey levels of 255 in every pixel and
half a grey level on average (the compute precision, bf16 on some CPUs, rounds the tiny difference either way).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from explorer import denoiser
from explorer.data import dataset_info, to_uint8
from explorer.demos import finish_drawing as fd
from explorer.demos.cache import LRUCache
from explorer.samplers import timesteps_for
from explorer.sampling import DEFAULTS, SamplingSettings
from explorer.schedules import make_schedule
from explorer.uploads import UploadError


@pytest.fixture
def fresh_caches(monkeypatch):
    monkeypatch.setattr(fd, "_CACHE", LRUCache(fd.CACHE_SIZE))
    monkeypatch.setattr(fd, "_RUNS", LRUCache(fd.RUN_CACHE_SIZE))


def _drawing() -> np.ndarray:
    """A bold ring, as a student might draw: (28, 28) uint8, white on black."""
    yy, xx = np.mgrid[:28, :28]
    r = np.hypot(yy - 14, xx - 14)
    return (((r > 6) & (r < 10)) * 255).astype(np.uint8)


# ----------------------------------------------------------------------------- the sampler from step k

def test_the_default_start_keeps_the_full_runs_timesteps():
    schedule = make_schedule("cosine")
    for steps in (1, 7, 16, 80):
        assert timesteps_for(schedule, steps, 999) == timesteps_for(schedule, steps)
    assert timesteps_for(schedule, 4, 199) == [199, 149, 99, 49]
    assert timesteps_for(schedule, 1, 0) == [0]
    with pytest.raises(ValueError, match="at most 10 steps"):
        timesteps_for(schedule, 11, 9)


def test_a_run_needs_both_the_noised_picture_and_its_timestep():
    model = denoiser.get("fashion")
    with pytest.raises(ValueError, match="both"):
        model.steps([0], 0, SamplingSettings(steps=2), start=torch.zeros(1, 1, 28, 28))


# ----------------------------------------------------------------------------- the ends

def test_k_1000_equals_generating_from_pure_static(fresh_caches):
    result = fd.finish_drawing(image=_drawing(), class_name="Trouser", k=1000, seed=3)
    model = denoiser.get("fashion")
    assert result.steps == DEFAULTS.steps
    assert result.ts.tolist() == timesteps_for(model.schedule, DEFAULTS.steps)
    made = to_uint8(model.images(["Trouser"], 3, SamplingSettings()))[0]  # (28, 28)
    assert np.abs(made.astype(int) - result.final.astype(int)).max() <= 2
    assert np.abs(made.astype(int) - result.final.astype(int)).mean() < 0.5


def test_k_1000_without_a_class_equals_an_unconditional_run(fresh_caches):
    result = fd.finish_drawing(image=_drawing(), class_name=fd.NO_CLASS, k=1000, seed=5)
    made = to_uint8(denoiser.get("fashion").images(None, 5, SamplingSettings(guidance=0.0)))[0]
    assert np.abs(made.astype(int) - result.final.astype(int)).max() <= 2


def test_k_0_returns_the_drawing_without_the_network(fresh_caches, monkeypatch):
    starts = []
    original = denoiser.Denoiser.steps

    def recorded(self, *args, **kwargs):
        starts.append(kwargs.get("start_t"))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(denoiser.Denoiser, "steps", recorded)
    drawing = _drawing()
    result = fd.finish_drawing(image=drawing, k=0)
    assert np.array_equal(result.final, drawing) and np.array_equal(result.noised, drawing)
    assert result.steps == 0 and result.ts.size == 0 and result.likeness == pytest.approx(1.0)
    assert starts == [k - 1 for k in fd.STRIP_KS]  # only the strip's runs used the network


def test_little_noise_keeps_the_drawing_and_much_noise_forgets_it(fresh_caches):
    result = fd.finish_drawing(image=_drawing(), class_name="Sneaker", k=200, seed=0)
    assert result.strip_ks == fd.STRIP_KS
    assert result.strip_likeness[0] > result.strip_likeness[-1]  # k = 200 keeps more than k = 800
    assert result.likeness == pytest.approx(result.strip_likeness[0])  # the strip reuses the same run
    assert result.strip.ndim == 2 and result.pair.ndim == 2


# ----------------------------------------------------------------------------- the run

def test_the_stream_yields_frames_then_the_result(fresh_caches):
    items = list(fd.finish_drawing_stream(k=800, class_name="Dress", seed=1))
    frames, result = items[:-1], items[-1]
    assert frames and all(isinstance(f, fd.FinishFrame) for f in frames)
    assert isinstance(result, fd.FinishResult) and not result.cached
    assert len(frames) <= fd.MAX_STREAMED_FRAMES and frames[-1].step < result.steps
    assert result.steps == fd.run_steps(800) == 13 and result.ts[0] == 799
    assert result.x_t.shape == (13, 28, 28) and result.x0.shape == (13, 28, 28)
    assert result.judged_name in dataset_info("fashion").class_names
    assert 0 <= result.asked_confidence <= 1
    assert "k = 800" in fd.verdict(result) and "Dress" in fd.verdict(result)


def test_the_same_seed_gives_the_same_pictures(fresh_caches, monkeypatch):
    first = fd.finish_drawing(image=_drawing(), class_name="Bag", k=500, seed=11)
    monkeypatch.setattr(fd, "_CACHE", LRUCache(fd.CACHE_SIZE))
    monkeypatch.setattr(fd, "_RUNS", LRUCache(fd.RUN_CACHE_SIZE))
    again = fd.finish_drawing(image=_drawing(), class_name="Bag", k=500, seed=11)
    other = fd.finish_drawing(image=_drawing(), class_name="Bag", k=500, seed=12)
    assert not again.cached
    assert np.array_equal(first.final, again.final) and np.array_equal(first.strip, again.strip)
    assert not np.array_equal(first.final, other.final)


def test_a_repeated_request_comes_from_the_cache(fresh_caches, monkeypatch):
    fd.finish_drawing(k=200, seed=2)
    monkeypatch.setattr(denoiser.Denoiser, "steps", lambda *a, **kw: pytest.fail("ran the network"))
    assert fd.finish_drawing(k=200, seed=2).cached


def test_mnist_works_too(fresh_caches):
    result = fd.finish_drawing("mnist", image=_drawing(), class_name="0", k=500)
    assert result.dataset == "mnist" and result.class_name is not None


# ----------------------------------------------------------------------------- bad input

@pytest.mark.parametrize("blank", [np.zeros((28, 28), np.uint8), np.full((28, 28), 200, np.uint8)])
def test_a_blank_drawing_is_refused(blank):
    with pytest.raises(UploadError, match="blank"):
        fd.finish_drawing(image=blank)


@pytest.mark.parametrize("k", [-1, 1001, 2.5, float("nan"), float("inf"), "lots", None, True])
def test_k_out_of_range_is_refused(k):
    with pytest.raises(ValueError, match="k"):
        fd.finish_drawing(k=k)


@pytest.mark.parametrize("name", ["Unicorn", 10, -1, 2.5])
def test_an_unknown_class_is_refused(name):
    with pytest.raises(ValueError, match="class|Class"):
        fd.finish_drawing(class_name=name)


@pytest.mark.parametrize("image", [np.zeros((280, 280), np.uint8), np.zeros((28, 28, 4), np.uint8),
                                   np.full((28, 28), np.nan)])
def test_a_picture_of_the_wrong_shape_or_values_is_refused(image):
    with pytest.raises(ValueError):
        fd.finish_drawing(image=image)


def test_bad_seed_dataset_and_gallery_number_are_refused():
    for kwargs in (dict(seed=-1), dict(dataset="cifar"), dict(gallery_index=10 ** 6)):
        with pytest.raises(ValueError):
            fd.finish_drawing(**kwargs)


def test_huge_and_many_layer_drawings_are_refused_by_the_drawing_checks(tmp_path):
    """The section reads drawings with explorer.uploads, whose checks refuse these before decoding."""
    from PIL import Image

    from explorer import uploads

    huge = tmp_path / "huge.png"
    Image.new("L", (2000, 1000)).save(huge)
    with pytest.raises(UploadError, match="too large"):
        uploads.check_drawing(None, [str(huge)], None)
    small = tmp_path / "small.png"
    Image.new("RGBA", (280, 280)).save(small)
    with pytest.raises(UploadError, match="layers"):
        uploads.check_drawing(None, [str(small)] * (uploads.MAX_DRAWING_LAYERS + 1), None)
