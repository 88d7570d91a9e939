"""The guidance-distilled student: taught exactly the guided guess the app's default sampling uses, one
network call per step, refuses any other guidance with a message naming its teacher, trains into a folder
that records its teacher."""

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
    student = recipe.build(INFO)
    recipe.precision = "fp32"
    return recipe, student


def test_the_student_is_taught_the_guided_guess_the_app_s_defaults_use():
    recipe, _ = fp32_recipe()
    teacher = registry.get("mnist", "diffusion")
    lo, hi = teacher.config["sampling"]["guidance_interval"]
    null = teacher.config["architecture"]["num_classes"]
    g = torch.Generator().manual_seed(0)
    for t in (lo, hi, hi + 1, 999):  # both ends of the interval and the steps just outside it
        x_t = torch.randn(4, 1, 28, 28, generator=g)  # (4, 1, 28, 28)
        y = torch.tensor([3, null, 7, null])
        steps = torch.full((4,), t)
        taught = recipe.teacher_target(x_t, steps, y)  # (4, 1, 28, 28), v
        _, taught_eps = predictions_from_output(recipe.schedule, x_t, steps, taught, "v")
        told = make_model_fn(teacher.network, recipe.schedule, "v", y[[0, 2]], sampling.DEFAULTS.guidance, null,
                             interval=(lo, hi))(x_t[[0, 2]], t)
        nothing = make_model_fn(teacher.network, recipe.schedule, "v", None, 0.0, null)(x_t[[1, 3]], t)
        torch.testing.assert_close(taught_eps[[0, 2]], told.eps, atol=1e-4, rtol=1e-4)
        torch.testing.assert_close(taught_eps[[1, 3]], nothing.eps, atol=1e-4, rtol=1e-4)


def test_a_recipe_step_is_finite_moves_the_student_and_leaves_the_teacher_alone():
    recipe, student = fp32_recipe()
    teacher_before = copy.deepcopy(recipe.teacher.state_dict())
    before = copy.deepcopy(student.state_dict())
    g = torch.Generator().manual_seed(1)
    x, y = torch.rand(8, 1, 28, 28, generator=g) * 2 - 1, torch.arange(8) % 10
    logs = recipe.step(student.train(), recipe.optimizers(student), x, y, torch.Generator().manual_seed(0), 0)
    assert math.isfinite(logs["loss"])
    assert any(not torch.equal(before[k], v) for k, v in student.state_dict().items())
    assert all(torch.equal(teacher_before[k], v) for k, v in recipe.teacher.state_dict().items())


def student_denoiser(channels: int = 8) -> denoiser.Denoiser:
    """A tiny untrained student of the shipped digits model, built as the registry would build a shipped one."""
    recipe, _ = fp32_recipe()
    config = {"family": "distilled", "dataset": "mnist", "architecture": recipe.architecture(INFO),
              **recipe.extra_config()}
    config["architecture"]["base_channels"] = channels
    network = build_network(config["architecture"]).eval().requires_grad_(False)
    return denoiser._build(registry.LoadedModel("mnist-distilled", network, config, torch.device("cpu")))


def test_the_student_makes_a_guided_step_in_one_network_row_per_picture():
    student = student_denoiser()
    assert student.built_in_guidance == sampling.DEFAULTS.guidance
    teacher = registry.get("mnist", "diffusion")
    assert student.guidance_interval == tuple(teacher.config["sampling"]["guidance_interval"])
    model_fn = student.model_fn(torch.tensor([1, 2, 3]), sampling.DEFAULTS.guidance)
    for t in (100, 900):  # inside and outside the teacher's interval: one row per picture either way
        assert model_fn(torch.randn(3, 1, 28, 28), t).guesses == 3
    images = student.images([1, 2], 0, sampling.SamplingSettings(steps=3))
    assert images.shape == (2, 1, 28, 28)


@pytest.mark.parametrize("settings", [sampling.SamplingSettings(guidance=5.0),
                                      sampling.SamplingSettings(guidance_steps=GuidanceSteps.between(0, 999)),
                                      sampling.SamplingSettings(guidance_steps=GuidanceSteps.EVERY_STEP)])
def test_the_student_refuses_guidance_it_did_not_learn(settings):
    student = student_denoiser()
    with pytest.raises(ValueError, match="learned one guidance only: s = 3 .* Use mnist-diffusion"):
        student.steps([1], 0, settings)  # refused before any step runs
    with pytest.raises(ValueError, match="cannot show the two guesses apart"):
        student.model_fn(torch.tensor([1]), sampling.DEFAULTS.guidance, keep_branches=True)


@pytest.fixture()
def tiny_data(tmp_path):
    rng = np.random.default_rng(0)
    x = (rng.random((32, 28, 28)) * 255).astype(np.uint8)
    y = np.arange(32) % 10
    folder = tmp_path / "data"
    folder.mkdir()
    np.savez(folder / "mnist_10k.npz", x_train=x, y_train=y, x_test=x[:10], y_test=y[:10])
    return folder


def test_training_writes_a_student_that_names_its_teacher(tmp_path, tiny_data):
    config = train(TrainSettings(dataset="mnist", family="distilled", out=tmp_path / "student", max_epochs=1,
                                 device="cpu", data_dir=str(tiny_data), batch_size=16, command="test"))
    teacher = registry.get("mnist", "diffusion").config
    assert config["distilled_from"] == {"model": "mnist-diffusion", "weights_sha256": teacher["weights_sha256"],
                                        "guidance": sampling.DEFAULTS.guidance,
                                        "guidance_interval": teacher["sampling"]["guidance_interval"]}
    network, saved = load_model(tmp_path / "student")
    assert saved["architecture"]["base_channels"] == teacher["architecture"]["base_channels"] // 2
    assert "## Teacher" in (tmp_path / "student" / "README.md").read_text()


@pytest.mark.parametrize("dataset", ["fashion", "mnist"])
def test_each_shipped_student_was_taught_by_the_shipped_teacher_at_the_app_s_guidance(dataset):
    """Retraining a teacher, or changing the default guidance or the measured interval, needs a new student."""
    student = denoiser.get(dataset, family="distilled")
    teacher = denoiser.get(dataset)
    learned = student.config["distilled_from"]
    assert learned["model"] == teacher.name and learned["weights_sha256"] == teacher.config["weights_sha256"]
    assert student.built_in_guidance == sampling.DEFAULTS.guidance
    assert student.guidance_interval == teacher.guidance_interval
    assert student.null_class == teacher.null_class and student.prediction == teacher.prediction
    assert student.config["parameters"] < teacher.config["parameters"] / 3
    images = student.images([0, 9], 3, sampling.SamplingSettings(steps=4))
    assert images.shape == (2, 1, 28, 28) and images.min() >= -1 and images.max() <= 1
