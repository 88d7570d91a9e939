"""explorer.denoiser: one object per shipped denoiser; bounded batches give the same pictures."""

from __future__ import annotations

import pytest
import torch

from explorer import denoiser, sampling
from explorer.data import DATASETS, to_uint8

FEW = sampling.SamplingSettings(steps=4)


@pytest.mark.parametrize("dataset", list(DATASETS))
def test_the_denoiser_carries_its_model_s_measured_settings(dataset):
    model = denoiser.get(dataset)
    assert model is denoiser.get(dataset)  # built once per process
    assert model.guidance_interval == tuple(model.config["sampling"]["guidance_interval"])
    assert model.null_class == model.config["architecture"]["num_classes"]
    assert model.schedule.num_timesteps == model.config["schedule"]["num_timesteps"]


def test_chunked_equals_unchunked(monkeypatch):
    """The same seed gives the same pictures whatever the network batch (DDPM draws fresh noise too)."""
    model = denoiser.get("mnist")
    labels = [i % 10 for i in range(24)]
    settings = sampling.SamplingSettings(steps=3, sampler="ddpm")
    whole = model.images(labels, 11, settings)
    monkeypatch.setattr(denoiser, "MAX_NETWORK_BATCH", 5)  # 48 images per guided call → 10 chunks
    chunked = model.images(labels, 11, settings)
    torch.testing.assert_close(chunked, whole, atol=1e-4, rtol=0)
    assert (to_uint8(chunked) == to_uint8(whole)).mean() > 0.999


def test_per_seed_static_matches_one_picture_runs():
    model = denoiser.get("fashion")
    both = model.images([3, 3], [5, 6], FEW)
    for row, seed in enumerate((5, 6)):
        torch.testing.assert_close(both[row:row + 1], model.images([3], seed, FEW), atol=1e-4, rtol=0)


def test_the_app_cost_limit_names_the_setting():
    model = denoiser.get("fashion")
    limit = sampling.LIVE_MAX_STEPS
    assert model.checked(sampling.SamplingSettings(steps=limit), max_steps=limit).steps == limit
    with pytest.raises(ValueError, match=f"Steps must be a whole number from 1 to {limit} here"):
        model.checked(sampling.SamplingSettings(steps=limit + 1), max_steps=limit)
    assert model.checked(sampling.SamplingSettings(steps=1000)).steps == 1000  # the command line has no such limit


def test_fp32_on_the_cpu_runs_channels_last_weights(monkeypatch):
    from explorer import precision, registry

    loaded = registry.get("mnist", "diffusion", torch.device("cpu"))
    shared = denoiser.get("mnist", torch.device("cpu"))  # the process's own choice, restored below
    monkeypatch.setenv(precision.ENV_VAR, "fp32")
    try:
        model = denoiser._build(loaded)
        conv = next(m for m in model.network.modules() if isinstance(m, torch.nn.Conv2d))
        assert model.precision == "fp32" and conv.weight.is_contiguous(memory_format=torch.channels_last)
    finally:
        if shared.precision != "fp32":
            loaded.network.to(memory_format=torch.contiguous_format)
