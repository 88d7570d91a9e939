"""The fast copy (family "distilled"): taught exactly the guided guess the app's default sampling uses, one
network call per step, refuses any other guidance with a message naming its full model, trains into a folder
that records its full model."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import torch

from explorer import denoiser, registry, sampling
from explorer.checkpoints import load_model
from explorer.data import dataset_info
from explorer.guidance import GuidanceSteps, make_model_fn
from explorer.nets import build_network
from explorer.recipes import get_recipe
from explorer.schedules import predictions_from_output
from explorer.train import TrainSettings, train

INFO = dataset_info("mnist")


def fp32_recipe():
    recipe = get_recipe("distilled")
    fast_copy = recipe.build(INFO)
    recipe.precision = "fp32"
    return recipe, fast_copy


def test_the_fast_copy_is_taught_the_guided_guess_the_app_s_defaults_use():
    recipe, _ = fp32_recipe()
    full_model = registry.get("mnist", "diffusion")
    lo, hi = full_model.config["sampling"]["guidance_interval"]
    null = full_model.config["architecture"]["num_classes"]
    g = torch.Generator().manual_seed(0)
    for t in (lo, hi, hi + 1, 999):  # both ends of the interval and the steps just outside it
        x_t = torch.randn(4, 1, 28, 28, generator=g)  # (4, 1, 28, 28)
        y = torch.tensor([3, null, 7, null])
        steps = torch.full((4,), t)
        taught = recipe.guided_target(x_t, steps, y)  # (4, 1, 28, 28), v
        _, taught_eps = predictions_from_output(recipe.schedule, x_t, steps, taught, "v")
        told = make_model_fn(full_model.network, recipe.schedule, "v", y[[0, 2]], sampling.DEFAULTS.guidance, null,
                             interval=(lo, hi))(x_t[[0, 2]], t)
        nothing = make_model_fn(full_model.network, recipe.schedule, "v", None, 0.0, null)(x_t[[1, 3]], t)
        torch.testing.assert_close(taught_eps[[0, 2]], told.eps, atol=1e-4, rtol=1e-4)
        torch.testing.assert_close(taught_eps[[1, 3]], nothing.eps, atol=1e-4, rtol=1e-4)


def test_a_recipe_step_is_finite_moves_the_fast_copy_and_leaves_the_full_model_alone():
    recipe, fast_copy = fp32_recipe()
    full_before = copy.deepcopy(recipe.full_model.state_dict())
    before = copy.deepcopy(fast_copy.state_dict())
    g = torch.Generator().manual_seed(1)
    x, y = torch.rand(8, 1, 28, 28, generator=g) * 2 - 1, torch.arange(8) % 10
    logs = recipe.step(fast_copy.train(), recipe.optimizers(fast_copy), x, y, torch.Generator().manual_seed(0), 0)
    assert math.isfinite(logs["loss"])
    assert any(not torch.equal(before[k], v) for k, v in fast_copy.state_dict().items())
    assert all(torch.equal(full_before[k], v) for k, v in recipe.full_model.state_dict().items())


def fast_copy_denoiser(channels: int = 8) -> denoiser.Denoiser:
    """A tiny untrained fast copy of the shipped digits model, built as the registry would build a shipped one."""
    recipe, _ = fp32_recipe()
    config = {"family": "distilled", "dataset": "mnist", "architecture": recipe.architecture(INFO),
              **recipe.extra_config()}
    config["architecture"]["base_channels"] = channels
    network = build_network(config["architecture"]).eval().requires_grad_(False)
    return denoiser._build(registry.LoadedModel("mnist-distilled", network, config, torch.device("cpu")))


def test_the_fast_copy_makes_a_guided_step_in_one_network_row_per_picture():
    fast_copy = fast_copy_denoiser()
    assert fast_copy.built_in_guidance == sampling.DEFAULTS.guidance
    full_model = registry.get("mnist", "diffusion")
    assert fast_copy.guidance_interval == tuple(full_model.config["sampling"]["guidance_interval"])
    model_fn = fast_copy.model_fn(torch.tensor([1, 2, 3]), sampling.DEFAULTS.guidance)
    for t in (100, 900):  # inside and outside the full_model's interval: one row per picture either way
        assert model_fn(torch.randn(3, 1, 28, 28), t).guesses == 3
    images = fast_copy.images([1, 2], 0, sampling.SamplingSettings(steps=3))
    assert images.shape == (2, 1, 28, 28)


@pytest.mark.parametrize("settings", [sampling.SamplingSettings(guidance=5.0),
                                      sampling.SamplingSettings(guidance_steps=GuidanceSteps.between(0, 999)),
                                      sampling.SamplingSettings(guidance_steps=GuidanceSteps.EVERY_STEP)])
def test_the_fast_copy_refuses_guidance_it_did_not_learn(settings):
    fast_copy = fast_copy_denoiser()
    with pytest.raises(ValueError, match="learned one guidance only: s = 3 .* Use mnist-diffusion"):
        fast_copy.steps([1], 0, settings)  # refused before any step runs
    with pytest.raises(ValueError, match="cannot show the two guesses apart"):
        fast_copy.model_fn(torch.tensor([1]), sampling.DEFAULTS.guidance, keep_branches=True)


@pytest.fixture()
def tiny_data(tmp_path):
    rng = np.random.default_rng(0)
    x = (rng.random((32, 28, 28)) * 255).astype(np.uint8)
    y = np.arange(32) % 10
    folder = tmp_path / "data"
    folder.mkdir()
    np.savez(folder / "mnist_10k.npz", x_train=x, y_train=y, x_test=x[:10], y_test=y[:10])
    return folder


def test_training_writes_a_fast_copy_that_names_its_full_model(tmp_path, tiny_data):
    config = train(TrainSettings(dataset="mnist", family="distilled", out=tmp_path / "fast_copy", max_epochs=1,
                                 device="cpu", data_dir=str(tiny_data), batch_size=16, command="test"))
    full_model = registry.get("mnist", "diffusion").config
    assert config["distilled_from"] == {"model": "mnist-diffusion", "weights_sha256": full_model["weights_sha256"],
                                        "guidance": sampling.DEFAULTS.guidance,
                                        "guidance_interval": full_model["sampling"]["guidance_interval"]}
    network, saved = load_model(tmp_path / "fast_copy")
    assert saved["architecture"]["base_channels"] == full_model["architecture"]["base_channels"] // 2
    assert "## Learned from the full model" in (tmp_path / "fast_copy" / "README.md").read_text()


@pytest.mark.parametrize("dataset", ["fashion", "mnist"])
def test_each_shipped_fast_copy_was_taught_by_the_shipped_full_model_at_the_app_s_guidance(dataset):
    """Retraining a full model, or changing the default guidance or the measured interval, needs a new fast copy."""
    fast_copy = denoiser.get(dataset, family="distilled")
    full_model = denoiser.get(dataset)
    learned = fast_copy.config["distilled_from"]
    assert learned["model"] == full_model.name and learned["weights_sha256"] == full_model.config["weights_sha256"]
    assert fast_copy.built_in_guidance == sampling.DEFAULTS.guidance
    assert fast_copy.guidance_interval == full_model.guidance_interval
    assert fast_copy.null_class == full_model.null_class and fast_copy.prediction == full_model.prediction
    assert fast_copy.config["parameters"] < full_model.config["parameters"] / 3
    images = fast_copy.images([0, 9], 3, sampling.SamplingSettings(steps=4))
    assert images.shape == (2, 1, 28, 28) and images.min() >= -1 and images.max() <= 1
