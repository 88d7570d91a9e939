"""The misconception demos without the server: the shipped training subset and its distances, two-class
prompts, "odd ones out", "impossible requests" (its summed steering signals: tests/test_denoiser.py), where
guidance applies (read from the model, and the "guide every step" toggle), and the Compare tab's "learned by" /
"random numbers in".

Runs the shipped diffusion, judge, VAE and GAN models (or ``$EXPLORER_MODEL_STORE``'s); the 64-picture
run is made once per module.
"""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest

from explorer import denoiser, neighbours, registry, sampling
from explorer.data import DATASETS, dataset_info, load_split, to_uint8
from explorer.demos import compare, guidance, impossible_requests, odd_ones
from explorer.demos.cache import LRUCache
from explorer.prompt_pairs import match_pair
from explorer.samplers import timesteps_for
from explorer.schedules import make_schedule

FEW = dict(steps=4)


@pytest.fixture
def fresh_caches(monkeypatch):
    monkeypatch.setattr(odd_ones, "_CACHE", LRUCache(4))
    monkeypatch.setattr(impossible_requests, "_CACHE", LRUCache(4))
    monkeypatch.setattr(guidance, "_CACHE", LRUCache(4))


@pytest.fixture(scope="module")
def odd_default():
    """The 64-picture run at the defaults, made once for the module."""
    return odd_ones.odd_ones_out()


# ----------------------------------------------------------------------------- the shipped training subset

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


# ----------------------------------------------------------------------------- two-class prompts

@pytest.mark.parametrize("dataset, text, classes", [
    ("fashion", "", (7, 8)),
    ("fashion", None, (7, 8)),
    ("mnist", "", (3, 8)),
    ("fashion", "A sneaker AND a Bag", (7, 8)),
    ("fashion", "ankle boots, a t-shirt", (9, 0)),
    ("mnist", "three & eight", (3, 8)),
    ("mnist", "a 3 and an 8", (3, 8)),
    ("fashion", "a dress with a coat", (3, 4)),
])
def test_two_class_prompts(dataset, text, classes):
    match = match_pair(dataset, text)
    assert match.classes == classes
    names = dataset_info(dataset).class_names
    assert f"{names[classes[0]]} and {names[classes[1]]}" in match.explanation


@pytest.mark.parametrize("dataset, text, message", [
    ("fashion", "a sneaker", "Name two Fashion classes joined by 'and'"),
    ("fashion", "a sneaker and a bag and a dress", "has 3 parts"),
    ("fashion", "a sneaker and a horse", "'a horse' names none of the 10 Fashion classes"),
    ("fashion", "bag and bags", "Both halves"),
    ("mnist", "a sneaker and a bag", "names none of the 10 Digits classes"),
    ("fashion", "x" * 500, "too long"),
    ("fashion", 7, "must be text"),
])
def test_bad_two_class_prompts(dataset, text, message):
    with pytest.raises(ValueError, match=message):
        match_pair(dataset, text)


# ----------------------------------------------------------------------------- impossible requests

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


def test_one_class_rows_are_the_ordinary_pictures_of_their_seeds(fresh_caches):
    r = impossible_requests.impossible_request(dataset="mnist", prompt="a 3 and an 8", first_seed=5)
    model = denoiser.get("mnist")
    for row, label in ((0, 3), (1, 8)):
        alone = model.images([label] * impossible_requests.PAIR_SEEDS, list(r.seeds))  # the normal single-class path
        from explorer.data import to_uint8
        assert np.abs(to_uint8(alone).astype(int) - r.images[row].astype(int)).mean() < 1.0
    assert not np.array_equal(r.images[2], r.images[0])  # told both is another picture


def test_impossible_request_is_deterministic(fresh_caches):
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


# ----------------------------------------------------------------------------- odd ones out

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
    monkeypatch.setattr(odd_ones, "ODD_BATCH", 6)
    monkeypatch.setattr(odd_ones, "SHOWN", 2)
    assert odd_ones.shipped_makers(dataset) == ["fast copy", "full model"]  # both shipped for every dataset
    default = odd_ones.odd_ones_out(dataset, 1, 10)
    full = odd_ones.odd_ones_out(dataset, 1, 10, "full model")
    assert (default.made_by, full.made_by) == ("fast copy", "full model")
    for result, family in ((default, "distilled"), (full, "diffusion")):
        made = denoiser.get(dataset, family=family).images([1] * 6, list(range(10, 16)), sampling.DEFAULTS)
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


# ----------------------------------------------------------------------------- honest guidance

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


# ----------------------------------------------------------------------------- Compare: learned by, random numbers in

def test_random_numbers_are_read_from_the_networks():
    numbers = compare.random_numbers("fashion")
    assert numbers == {"vae": registry.get("fashion", "vae").network.noise_dim,
                       "gan": registry.get("fashion", "gan").network.noise_dim, "diffusion": 28 * 28}
    r = compare.compare(seeds=1, steps=2)
    assert r.family_rows[0][0] == "learned by" and "contest against a critic" in r.family_rows[0][2]
    assert r.family_rows[1] == ["random numbers in", *(str(numbers[f]) for f in ("vae", "gan", "diffusion"))]
    assert "no contest" in r.no_contest and f"{numbers['diffusion']} random numbers" in r.no_contest


def test_the_compare_text_about_no_fresh_noise_holds_for_the_defaults():
    # the Compare tab's maths says the default sampler adds no fresh noise along the way
    assert sampling.DEFAULTS.sampler in ("dpm++", "ddim") and sampling.DEFAULTS.eta == 0.0
