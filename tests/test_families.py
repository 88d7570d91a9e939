"""The judge, VAE and GAN families: built from their config dicts, right shapes and ranges, bit-identical
after a save → load round trip, one recipe step each runs, finite and deterministic. Tiny random data."""

from __future__ import annotations

import copy
import json
import math

import pytest
import torch

from explorer.checkpoints import load_model, save_model
from explorer.data import dataset_info
from explorer.nets import build_network
from explorer.recipes import get_recipe
from explorer.recipes.judge import random_shift

INFO = dataset_info("mnist")
FAMILIES = ("judge", "vae", "gan")
BATCH = 8


def tiny_batch(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(BATCH, 1, 28, 28, generator=g) * 2 - 1  # (B, 1, 28, 28) in [-1, 1]
    y = torch.randint(0, INFO.num_classes, (BATCH,), generator=g)  # (B,)
    return x, y


def build(family: str) -> tuple[torch.nn.Module, dict]:
    architecture = get_recipe(family).architecture(INFO)
    return build_network(architecture), architecture


def trained_one_step(family: str) -> tuple[torch.nn.Module, dict]:
    """A model after one recipe step, so BatchNorm statistics and spectral-norm vectors are not at init."""
    recipe = get_recipe(family)
    model, architecture = build(family)
    x, y = tiny_batch()
    recipe.step(model.train(), recipe.optimizers(model), x, y, torch.Generator().manual_seed(0), 0)
    return model.eval(), architecture


@torch.no_grad()
def eval_outputs(model: torch.nn.Module, family: str, seed: int = 1) -> torch.Tensor:
    """Everything the family computes at inference, flattened: (B, K)."""
    x, y = tiny_batch(seed)
    gen = torch.Generator().manual_seed(seed)
    if family == "judge":
        return torch.cat([model(x), model.features(x)], dim=1)
    if family == "vae":
        z = torch.randn(BATCH, model.latent_dim, generator=gen)
        return torch.cat([model.decode(z, y).flatten(1), *model.encode(x, y)], dim=1)
    z = torch.randn(BATCH, model.noise_dim, generator=gen)
    return torch.cat([model.sample(z, y).flatten(1), model.discriminator(x, y)[:, None]], dim=1)


@pytest.mark.parametrize("family", FAMILIES)
def test_architecture_is_plain_json_and_rebuilds(family):
    _, architecture = build(family)
    assert architecture["type"] == family
    again = json.loads(json.dumps(architecture))
    assert again == architecture
    assert sum(p.numel() for p in build_network(again).parameters()) > 0


def test_judge_shapes():
    model, _ = build("judge")
    x, _ = tiny_batch()
    with torch.no_grad():
        assert model.eval()(x).shape == (BATCH, INFO.num_classes)
        assert model.features(x).shape == (BATCH, 128)


def test_vae_shapes_and_range():
    model, _ = build("vae")
    recipe = get_recipe("vae")
    assert model.latent_dim == recipe.extra_config()["latent_dim"]
    x, y = tiny_batch()
    with torch.no_grad():
        mu, logvar = model.eval().encode(x, y)
        image = model.decode(10 * torch.randn(BATCH, model.latent_dim), y)
    assert mu.shape == logvar.shape == (BATCH, model.latent_dim)
    assert image.shape == (BATCH, 1, 28, 28)
    assert image.min() >= -1 and image.max() <= 1


def test_vae_draws_codes_from_its_class_prior():
    model, _ = build("vae")
    y = torch.tensor([0, 3, 3])
    with torch.no_grad():
        model.prior_mu.weight[3] = 5.0
        model.prior_logvar.weight[3] = math.log(4.0)
        codes = model.code_from_noise(torch.ones(3, model.latent_dim), y)
    torch.testing.assert_close(codes[0], torch.ones(model.latent_dim))  # untouched class: N(0, I)
    torch.testing.assert_close(codes[1:], torch.full((2, model.latent_dim), 7.0))  # 5 + 2·1


def test_vae_kl_is_zero_only_at_the_prior():
    from explorer.recipes.vae import kl_gaussians

    mu, logvar = torch.randn(4, 8), torch.randn(4, 8)
    torch.testing.assert_close(kl_gaussians(mu, logvar, mu, logvar), torch.zeros(4))
    assert (kl_gaussians(mu + 0.5, logvar, mu, logvar) > 0).all()
    standard = 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).sum(dim=1)  # the closed form against N(0, I)
    torch.testing.assert_close(kl_gaussians(mu, logvar, torch.zeros(4, 8), torch.zeros(4, 8)), standard)


def test_gan_shapes_and_range():
    model, _ = build("gan")
    assert model.noise_dim == get_recipe("gan").extra_config()["noise_dim"]
    x, y = tiny_batch()
    with torch.no_grad():
        image = model.eval().sample(10 * torch.randn(BATCH, model.noise_dim), y)
        scores = model.discriminator(x, y)
    assert image.shape == (BATCH, 1, 28, 28)
    assert image.min() >= -1 and image.max() <= 1
    assert scores.shape == (BATCH,)


@pytest.mark.parametrize("family", FAMILIES)
def test_save_load_round_trip_is_bit_identical(family, tmp_path):
    model, architecture = trained_one_step(family)
    save_model(tmp_path, model, {"family": family, "architecture": architecture})
    loaded, config = load_model(tmp_path)
    assert config["architecture"] == architecture
    assert torch.equal(eval_outputs(model, family), eval_outputs(loaded.eval(), family))


@pytest.mark.parametrize("family", FAMILIES)
def test_recipe_step_is_finite_and_moves_the_weights(family):
    recipe = get_recipe(family)
    model, _ = build(family)
    before = copy.deepcopy(model.state_dict())
    x, y = tiny_batch()
    logs = recipe.step(model.train(), recipe.optimizers(model), x, y, torch.Generator().manual_seed(0), 0)
    assert logs and all(isinstance(v, float) and math.isfinite(v) for v in logs.values())
    assert any(not torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert recipe.exportable(model) is model


@pytest.mark.parametrize("family", FAMILIES)
def test_recipe_step_is_deterministic_under_one_seed(family):
    recipe = get_recipe(family)
    model, _ = build(family)
    twin = copy.deepcopy(model)
    x, y = tiny_batch()
    runs = []
    for m in (model, twin):
        logs = recipe.step(m.train(), recipe.optimizers(m), x, y, torch.Generator().manual_seed(7), 3)
        runs.append((logs, m.state_dict()))
    assert runs[0][0] == runs[1][0]
    assert all(torch.equal(v, runs[1][1][k]) for k, v in runs[0][1].items())


@pytest.mark.parametrize("family", FAMILIES)
def test_inference_is_deterministic_under_one_seed(family):
    model, _ = trained_one_step(family)
    assert torch.equal(eval_outputs(model, family, seed=3), eval_outputs(model, family, seed=3))


def test_random_shift_moves_content_at_most_two_pixels_and_fills_black():
    x = torch.full((BATCH, 1, 28, 28), -1.0)
    x[:, 0, 14, 14] = 1.0
    shifted = random_shift(x, 2, torch.Generator().manual_seed(0))
    assert shifted.shape == x.shape
    rows, cols = torch.nonzero(shifted[:, 0] == 1.0)[:, 1:].T
    assert len(rows) == BATCH
    assert (rows - 14).abs().max() <= 2 and (cols - 14).abs().max() <= 2
    assert ((shifted == 1.0) | (shifted == -1.0)).all()
    again = random_shift(x, 2, torch.Generator().manual_seed(0))
    assert torch.equal(shifted, again)
