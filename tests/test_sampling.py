"""Shipped models load and sample; seeds are reproducible whatever else the process does."""

import dataclasses
import threading

import pytest
import torch

from explorer import checks, denoiser, one_shot, registry, sampling
from explorer.data import DATASETS

FEW = sampling.SamplingSettings(steps=4)


def _shipped(family):
    return [d for d in DATASETS if registry.is_shipped(d, family)]


def test_every_dataset_ships_a_denoiser_its_fast_copy_and_a_judge():
    for family in ("diffusion", "distilled", "judge"):
        assert _shipped(family) == list(DATASETS), f"missing shipped {family} models"


@pytest.mark.parametrize("dataset", list(DATASETS))
def test_shipped_denoiser_samples_the_right_shapes(dataset):
    loaded = registry.get(dataset, "diffusion")
    assert not loaded.network.training
    assert all(not p.requires_grad for p in loaded.network.parameters())
    images = denoiser.get(dataset).images([0, 3, 9], seed=1, settings=FEW)
    assert images.shape == (3, 1, 28, 28)
    assert images.min() >= -1 and images.max() <= 1


@pytest.mark.parametrize("family", ["vae", "gan"])
def test_shipped_one_shot_models_sample_the_right_shapes(family):
    for dataset in _shipped(family):
        images = one_shot.one_shot_images(dataset, family, [1, 2], seed=3)
        assert images.shape == (2, 1, 28, 28)


def test_same_seed_same_images_whatever_else_runs():
    first = denoiser.get("mnist").images([7, 7], seed=42, settings=FEW)
    torch.manual_seed(999)  # global RNG churn must not matter
    torch.randn(100)
    other = threading.Thread(target=denoiser.get("mnist").images, args=([1], 5, FEW))
    other.start()
    again = denoiser.get("mnist").images([7, 7], seed=42, settings=FEW)
    other.join()
    assert torch.equal(first, again)
    different = denoiser.get("mnist").images([7, 7], seed=43, settings=FEW)
    assert not torch.equal(first, different)


@pytest.mark.parametrize("sampler", ["ddpm", "ddim", "dpm++"])
def test_stochastic_samplers_are_reproducible(sampler):
    settings = sampling.SamplingSettings(sampler=sampler, steps=5, eta=1.0)
    a = denoiser.get("mnist").images([4], seed=8, settings=settings)
    b = denoiser.get("mnist").images([4], seed=8, settings=settings)
    assert torch.equal(a, b)


def test_unconditional_generation():
    images = denoiser.get("mnist").images(None, seed=2, settings=FEW, batch=2)
    assert images.shape == (2, 1, 28, 28)


@pytest.mark.parametrize("seed", [-1, 2 ** 63, 1.5, "abc", float("nan")])
def test_bad_seeds(seed):
    with pytest.raises(ValueError, match="Seed"):
        checks.check_seed(seed)


@pytest.mark.parametrize("kwargs, message", [
    (dict(guidance=float("nan")), "Guidance scale must be a number between 0 and 20, got nan"),
    (dict(guidance=float("inf")), "Guidance scale must be a number between 0 and 20, got inf"),
    (dict(guidance=-1e9), "between"),
    (dict(steps=0), "Steps"),
    (dict(steps=10 ** 9), "Steps"),
    (dict(sampler="euler"), "Known samplers"),
    (dict(eta=2.0), "eta"),
    (dict(guidance_steps=(0, 999)), "GuidanceSteps"),
])
def test_settings_are_valid_by_construction(kwargs, message):
    with pytest.raises(ValueError, match=message):
        sampling.SamplingSettings(**kwargs)
    with pytest.raises(ValueError, match=message):
        dataclasses.replace(sampling.DEFAULTS, **kwargs)


def test_settings_hold_their_values_parsed():
    settings = sampling.SamplingSettings(sampler="DPM-Solver++", steps="8", guidance="2.5", eta=0)
    assert (settings.sampler, settings.steps, settings.guidance, settings.eta) == ("dpm++", 8, 2.5, 0.0)
    assert type(settings.steps) is int and type(settings.guidance) is float


def test_unknown_class_and_model():
    with pytest.raises(ValueError, match="Known classes"):
        sampling.labels_tensor("fashion", ["horse"], torch.device("cpu"))
    with pytest.raises(ValueError, match="out of range"):
        sampling.labels_tensor("mnist", [10], torch.device("cpu"))
    with pytest.raises(ValueError, match="Known models"):
        registry.get_model("fashion-unicorn")


def test_a_class_of_the_wrong_type_is_a_clear_error():
    with pytest.raises(ValueError, match="Known classes"):
        sampling.labels_tensor("fashion", [[1, 2]], torch.device("cpu"))
