"""explorer.demos.remove_noise: streaming, per-step arrays, seeds, prompts, the cache, files, bad input.

Runs the shipped diffusion and judge models (or ``$EXPLORER_MODEL_STORE``'s) with few steps.
"""

from __future__ import annotations

import os
import time

import numpy as np
import plotly.graph_objects as go
import pytest
from PIL import Image

from explorer import denoiser, prompts
from explorer.demos import remove_noise
from explorer.demos.cache import LRUCache
from explorer.sampling import DEFAULTS

FEW = dict(steps=4, sampler="ddim")


@pytest.fixture
def fresh_cache(monkeypatch):
    """An empty result cache for this test, so runs really compute."""
    monkeypatch.setattr(remove_noise, "_CACHE", LRUCache(8))


def test_defaults_run_with_every_step_kept():
    r = remove_noise.remove_noise()
    n = DEFAULTS.steps
    assert (r.dataset, r.sampler, r.steps, r.guidance, r.seed) == (
        "fashion", DEFAULTS.sampler, n, DEFAULTS.guidance, 0)
    assert (r.label, r.class_name) == (0, "T-shirt/top") and "the chosen class" in r.mapping
    for frames in (r.x_t, r.x0, r.noise):
        assert frames.shape == (n, 28, 28) and frames.dtype == np.uint8
    assert r.final.shape == r.one_jump.shape == (28, 28) and r.final.dtype == np.uint8
    np.testing.assert_array_equal(r.one_jump, r.x0[0])
    assert r.ts.shape == (n,) and r.ts[0] == 999 and np.all(np.diff(r.ts) < 0)
    assert r.confidence.shape == (n,) and np.all((0 <= r.confidence) & (r.confidence <= 1))
    assert 0 <= r.final_confidence <= 1 and r.judged_class == 0
    assert isinstance(r.confidence_figure, go.Figure)
    assert r.comparison.dtype == np.uint8 and r.comparison.ndim == 2


def test_the_stream_yields_frames_before_the_result(fresh_cache):
    items = list(remove_noise.remove_noise_stream(seed=101, **FEW))
    frames, result = items[:-1], items[-1]
    assert isinstance(result, remove_noise.RemoveNoiseResult) and not result.cached
    assert [f.step for f in frames] == [1, 2, 3]  # the last step comes with the result
    assert all(isinstance(f, remove_noise.RemoveNoiseFrame) and f.steps == 4 for f in frames)
    for f in frames:
        assert f.x_t.shape == f.x0.shape == f.noise.shape == (28, 28) and f.x_t.dtype == np.uint8
        np.testing.assert_array_equal(f.x_t, result.x_t[f.step - 1])
        np.testing.assert_array_equal(f.noise, result.noise[f.step - 1])
    np.testing.assert_array_equal(frames[0].x0, result.one_jump)


def test_long_runs_stream_only_some_steps_but_keep_all(fresh_cache, monkeypatch):
    monkeypatch.setattr(remove_noise, "MAX_STREAMED_FRAMES", 4)
    items = list(remove_noise.remove_noise_stream(seed=102, steps=11, sampler="ddim", prompt="a horse"))
    frames, result = items[:-1], items[-1]
    assert [f.step for f in frames] == [1, 4, 7, 10]  # every 3rd step; the last comes with the result
    assert result.x_t.shape[0] == result.x0.shape[0] == result.confidence.shape[0] == 11


def test_the_defaults_stream_a_handful_of_frames(fresh_cache):
    items = list(remove_noise.remove_noise_stream(seed=103))
    steps = [f.step for f in items[:-1]]
    assert 2 <= len(steps) <= remove_noise.MAX_STREAMED_FRAMES and steps[0] == 1 and steps[-1] < DEFAULTS.steps
    assert items[-1].x_t.shape[0] == DEFAULTS.steps


def test_a_single_step_run_streams_nothing_but_the_result(fresh_cache):
    items = list(remove_noise.remove_noise_stream(seed=104, steps=1, sampler="ddim"))
    assert len(items) == 1 and isinstance(items[0], remove_noise.RemoveNoiseResult) and items[0].steps == 1


def test_same_seed_same_pictures_other_seed_other_pictures(fresh_cache, monkeypatch):
    a = remove_noise.remove_noise(seed=7, **FEW)
    monkeypatch.setattr(remove_noise, "_CACHE", LRUCache(8))
    b = remove_noise.remove_noise(seed=7, **FEW)
    c = remove_noise.remove_noise(seed=8, **FEW)
    assert not a.cached and not b.cached
    for name in ("final", "x_t", "x0", "noise"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert not np.array_equal(a.final, c.final)


def test_a_repeated_request_comes_from_the_cache_without_the_model(fresh_cache, monkeypatch):
    first = remove_noise.remove_noise(seed=9, prompt="sneakers", **FEW)

    def no_model(*args, **kwargs):
        raise AssertionError("the model ran again")

    monkeypatch.setattr(denoiser.Denoiser, "steps", no_model)
    items = list(remove_noise.remove_noise_stream(seed=9, prompt="Sneaker", **FEW))  # another wording, same class
    assert len(items) == 1 and items[0].cached and not first.cached
    again = items[0]
    for name in ("final", "x_t", "x0", "noise", "confidence", "ts"):
        np.testing.assert_array_equal(getattr(again, name), getattr(first, name))
    assert again.prompt == "Sneaker" and "'Sneaker'" in again.mapping


def test_the_prompt_wins_over_the_chosen_class(fresh_cache):
    r = remove_noise.remove_noise(prompt="an ankle boot", class_name="Bag", seed=3, **FEW)
    assert (r.label, r.class_name, r.judged_class) == (9, "Ankle boot", 9)
    assert "Ankle boot" in r.mapping and "Ankle boot" in r.judge_note


ARTICLES = {"T-shirt/top": "a", "Trouser": "a", "Pullover": "a", "Dress": "a", "Coat": "a", "Sandal": "a",
            "Shirt": "a", "Sneaker": "a", "Bag": "a", "Ankle boot": "an",
            "zero": "a", "one": "a", "two": "a", "three": "a", "four": "a", "five": "a", "six": "a", "seven": "a",
            "eight": "an", "nine": "a", **{str(d): "an" if d == 8 else "a" for d in range(10)}}


def test_every_class_name_of_both_datasets_has_its_article():
    from explorer.data import dataset_info

    names = [*dataset_info("fashion").class_names, *dataset_info("mnist").class_names]
    assert set(names) < set(ARTICLES)  # the digits' names as words; 0 … 9 are checked too
    for name, article in ARTICLES.items():
        assert prompts.with_article(name) == f"{article} {name}"
        title = remove_noise._confidence_figure(np.array([0.2, 0.9]), name).layout.title.text
        assert _unwrapped(title) == f"Does the judge see {article} {name} in the guess?"


def test_the_chart_and_the_note_say_an_ankle_boot(fresh_cache):
    r = remove_noise.remove_noise(prompt="an ankle boot", seed=3, **FEW)
    assert _unwrapped(r.confidence_figure.layout.title.text).startswith("Does the judge see an Ankle boot ")
    assert "it is an Ankle boot:" in r.judge_note and " a Ankle" not in r.judge_note
    digit = remove_noise.remove_noise(dataset="mnist", class_name="eight", seed=3, **FEW)
    assert _unwrapped(digit.confidence_figure.layout.title.text).startswith("Does the judge see an eight ")


def _unwrapped(title: str) -> str:
    """A chart title as one line (long titles are wrapped with <br>)."""
    return title.replace("<br>", " ")


def test_the_chosen_class_is_used_without_a_prompt(fresh_cache):
    assert remove_noise.remove_noise(class_name="Bag", seed=3, **FEW).label == 8
    assert remove_noise.remove_noise(dataset="mnist", class_name=7, seed=3, **FEW).class_name == "seven"
    assert remove_noise.remove_noise(dataset="mnist", prompt="the number 3", seed=3, **FEW).label == 3


def test_a_prompt_naming_no_class_runs_unconditionally(fresh_cache):
    r = remove_noise.remove_noise(prompt="a horse", class_name="Bag", seed=4, guidance=5, **FEW)
    assert r.label is None and r.class_name is None and r.guidance == 0.0
    assert "unconditionally" in r.mapping
    assert "No class was asked for" in r.judge_note and r.judged_name in r.judge_note
    assert 0 <= r.judged_class < 10


def test_eta_only_counts_for_ddim(fresh_cache):
    assert remove_noise.remove_noise(seed=5, steps=2, sampler="dpm++", eta=0.5).eta == 0.0
    assert remove_noise.remove_noise(seed=5, steps=2, sampler="ddim", eta=0.5).eta == 0.5


def test_download_files_exist(fresh_cache):
    r = remove_noise.remove_noise(seed=6, **FEW)
    with Image.open(r.gif_path) as gif:
        assert gif.format == "GIF" and gif.n_frames > FEW["steps"]
        gif.seek(gif.n_frames - 1)  # the final picture, held
        assert gif.info["duration"] == remove_noise.GIF_FRAME_MS * remove_noise.GIF_HOLD_FRAMES
    with Image.open(r.strip_path) as png:
        assert png.format == "PNG" and png.width > png.height
    assert r.gif_path.parent.parent == remove_noise.FILES_ROOT


def test_old_request_folders_are_removed_and_cached_files_rewritten(fresh_cache, monkeypatch, tmp_path):
    monkeypatch.setattr(remove_noise, "FILES_ROOT", tmp_path)
    monkeypatch.setattr(remove_noise, "_last_prune", [0.0])  # not looked for old folders in the last minute
    old = tmp_path / "remove-noise-old"
    old.mkdir()
    hours_ago = time.time() - 2 * remove_noise.MAX_FILE_AGE_S
    os.utime(old, (hours_ago, hours_ago))
    first = remove_noise.remove_noise(seed=10, **FEW)
    assert not old.exists() and first.gif_path.exists()
    for path in first.gif_path.parent.iterdir():
        path.unlink()
    again = remove_noise.remove_noise(seed=10, **FEW)
    assert again.cached and again.gif_path.exists() and again.strip_path.exists()


@pytest.mark.parametrize("kwargs, message", [
    (dict(dataset="cifar"), "Known datasets"),
    (dict(class_name="Horse"), "Known classes"),
    (dict(dataset="mnist", class_name=10), "out of range"),
    (dict(sampler="euler"), "Known samplers"),
    (dict(steps=0), "Steps must be a whole number from 1 to 1000"),
    (dict(steps=1001), "Steps must be a whole number from 1 to 1000"),
    (dict(steps=2.5), "Steps must be a whole number"),
    (dict(steps=None), "Steps must be a whole number"),
    (dict(steps=float("inf")), "Steps must be a whole number"),
    (dict(guidance=float("nan")), "Guidance scale must be a number between 0 and 20, got nan"),
    (dict(guidance=21), "between 0 and 20"),
    (dict(guidance=-1), "between 0 and 20"),
    (dict(eta=1.5), "between 0 and 1"),
    (dict(eta=None), "between 0 and 1"),
    (dict(seed=-1), "Seed must be a whole number"),
    (dict(seed=2 ** 63), "Seed must be a whole number"),
    (dict(seed=1.5), "Seed must be a whole number"),
    (dict(prompt="x" * 1000), "too long"),
])
def test_bad_arguments_say_what_is_wrong_before_anything_runs(kwargs, message):
    with pytest.raises(ValueError, match=message):
        remove_noise.remove_noise_stream(**kwargs)  # checked at the call, not at the first frame


def test_the_static_it_sees_is_drawn_at_the_strength_left_in_the_picture():
    """At the first step (pure static) the static it sees looks like the picture; at the last, nearly mid-grey."""
    r = remove_noise.remove_noise(seed=3, steps=8)
    first = np.abs(r.noise[0].astype(int) - r.x_t[0].astype(int)).mean()
    assert first < 12, first
    assert np.abs(r.noise[-1].astype(int) - 128).mean() < np.abs(r.noise[0].astype(int) - 128).mean() / 3
