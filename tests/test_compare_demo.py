"""The Compare tab's demos: explorer.demos.compare (VAE, GAN and diffusion side by side: pictures,
counted passes, timings, the cards' quality or "not measured yet"), explorer.demos.latent_map (the VAE's map and
decoded points) and explorer.demos.interpolation, bad input; the shipped VAE and GAN load from the registry
and sample the right shapes; the table's "learned by" and "random numbers in" are read from the networks.

Runs the shipped models (or ``$EXPLORER_MODEL_STORE``'s) with few steps; skipped, saying why, where
the VAE or GAN has not been trained yet.
"""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go
import pytest
import torch

from explorer import cards, denoiser, one_shot, registry, sampling
from explorer.data import DATASETS, load_gallery, to_uint8
from explorer.demos import compare, interpolation, latent_map
from explorer.demos import compare as demo
from explorer.samplers import timesteps_for
from explorer.schedules import make_schedule

FEW = dict(seeds=2, steps=4)


def _require(dataset: str, *families: str) -> None:
    for family in families:
        name = registry.model_name(dataset, family)
        if name not in registry.known_models():
            pytest.skip(f"{registry.MODEL_STORE / name} is absent: train it with "
                        f"python -m explorer train --dataset {dataset} --family {family}")


@pytest.fixture
def fashion_models():
    _require("fashion", "vae", "gan", "diffusion", "judge")


def _expected_passes(steps: int) -> int:
    """Both branches on the steps where guidance applies (the model's interval), one elsewhere."""
    if sampling.DEFAULTS.guidance in (0.0, 1.0):
        return steps
    config = registry.get("fashion", "diffusion").config
    interval = denoiser.get("fashion").interval(sampling.DEFAULTS.guidance_steps) or (0, 10 ** 9)
    timesteps = timesteps_for(make_schedule(config["schedule"]["name"]), steps)
    return sum(2 if interval[0] <= t <= interval[1] else 1 for t in timesteps)


# ----------------------------------------------------------------------------- shipped models

@pytest.mark.parametrize("dataset", list(DATASETS))
@pytest.mark.parametrize("family", ["vae", "gan"])
def test_one_shot_models_load_frozen_and_sample_the_right_shapes(dataset, family):
    _require(dataset, family)
    loaded = registry.get(dataset, family)
    assert not loaded.network.training and all(not p.requires_grad for p in loaded.network.parameters())
    images = one_shot.one_shot_images(dataset, family, [0, 4, 9], seed=5)
    assert images.shape == (3, 1, 28, 28) and images.min() >= -1 and images.max() <= 1
    torch.testing.assert_close(images, one_shot.one_shot_images(dataset, family, [0, 4, 9], seed=5))


# ----------------------------------------------------------------------------- one shot, or many small steps

def test_the_three_families_make_the_same_class_and_seeds(fashion_models):
    r = demo.compare(class_name="Sneaker", first_seed=7, **FEW)
    assert (r.label, r.class_name, r.seeds, r.steps) == (7, "Sneaker", (7, 8), 4)
    assert [run.family for run in r.runs] == ["vae", "gan", "diffusion", "diffusion"]
    for run in r.runs:
        assert run.images.shape == (2, 28, 28) and run.images.dtype == np.uint8
        assert run.strip.dtype == np.uint8 and run.strip.ndim == 2
        assert run.ms_per_image > 0
    assert len(r.speed_rows) == 4 and all(len(row) == len(demo.SPEED_HEADERS) for row in r.speed_rows)
    assert r.steps_pair.dtype == np.uint8


def test_network_passes_are_counted_while_the_code_runs(fashion_models):
    vae, gan, diffusion, one_step = demo.compare(**FEW).runs
    assert vae.passes_per_image == gan.passes_per_image == 1
    assert diffusion.passes_per_image == _expected_passes(4)
    assert one_step.passes_per_image == _expected_passes(1)
    assert "1 step" in one_step.title and "4 steps" in diffusion.title


def test_a_seed_gives_the_same_one_shot_picture_as_generate(fashion_models):
    vae, gan, *_ = demo.compare(class_name=3, first_seed=5, **FEW).runs
    for run in (vae, gan):
        for i, seed in enumerate((5, 6)):
            alone = to_uint8(one_shot.one_shot_images("fashion", run.family, [3], seed))[0]
            assert np.abs(run.images[i].astype(int) - alone.astype(int)).max() <= 1


def test_one_step_and_many_steps_start_from_the_same_static(fashion_models):
    r = demo.compare(**FEW)
    *_, many, one = r.runs
    assert not np.array_equal(many.images, one.images)  # same static, different amounts of work
    again = demo.compare(**FEW)
    np.testing.assert_array_equal(again.runs[2].images, many.images)  # deterministic sampler


def test_missing_card_sections_say_not_measured_yet(fashion_models, monkeypatch):
    monkeypatch.setattr(cards, "read_metrics", lambda folder: {})
    r = demo.compare(**FEW)
    assert [row[0] for row in r.quality_rows] == ["VAE", "GAN", "Diffusion"]
    assert all(cell == demo.NOT_MEASURED for row in r.quality_rows for cell in row[1:])
    assert "python -m explorer evaluate --dataset fashion --family vae" in r.quality_note
    assert r.steps_figure is None and "not measured yet" in r.steps_note and "--sweep steps" in r.steps_note


def test_measured_card_sections_fill_the_table_and_the_steps_chart(fashion_models, monkeypatch):
    quality = {"recognition": 0.9, "frechet": 2.5, "frechet_real_vs_real": 0.5, "variety_ratio": 0.8, "n_images": 500}
    sweep = [{"steps": k, "recognition": 0.5, "variety_ratio": 0.9, "frechet_ratio": 3.0} for k in (50, 1, 10)]
    monkeypatch.setattr(cards, "read_metrics",
                        lambda folder: {"quality_at_defaults": quality, "steps_sweep": sweep})
    r = demo.compare(**FEW)
    assert r.quality_rows[0] == ["VAE", "90%", "2.50 (0.50)", "0.80", "500"]
    assert "not measured" not in r.quality_note and r.steps_note == ""
    assert isinstance(r.steps_figure, go.Figure) and r.steps_figure.layout.xaxis.type == "log"
    assert list(r.steps_figure.data[0].x) == [1, 10, 50]


# ----------------------------------------------------------------------------- the VAE's learned space

def _decoded(codes: torch.Tensor, label: int) -> np.ndarray:
    """Fashion VAE codes (K, D) decoded as class ``label``: uint8 (K, 28, 28)."""
    return to_uint8(one_shot.vae_decode("fashion", codes, torch.full((len(codes),), label)))


def test_the_latent_map_has_one_point_per_gallery_picture(fashion_models):
    p = latent_map.latent_point(x=1.5, y=-0.5)
    gallery, labels = load_gallery("fashion")
    class_traces, marker = p.figure.data[:-1], p.figure.data[-1]
    assert sum(len(trace.x) for trace in class_traces) == len(gallery) == len(labels)
    assert (marker.x[0], marker.y[0]) == (1.5, -0.5)
    assert p.image.shape == (28, 28) and p.image.dtype == np.uint8
    assert 0 < p.explained <= 1


def test_the_map_centre_decodes_the_mean_code(fashion_models):
    space = latent_map._latent_space("fashion")
    centre = latent_map.latent_point(class_name="Bag")
    np.testing.assert_array_equal(centre.image, _decoded(space.mean[None], 8)[0])
    np.testing.assert_allclose(space.coords.mean(0), 0, atol=1e-9)
    np.testing.assert_allclose(space.coords.std(0, ddof=1), 1, atol=1e-9)


def test_interpolations_have_eight_frames_from_end_to_end(fashion_models):
    r = interpolation.interpolate(class_name="Trouser", picture_a=3, picture_b=150, seed_a=4, seed_b=9)
    assert r.vae_frames.shape == r.gan_frames.shape == (interpolation.FRAMES, 28, 28)
    codes = one_shot.vae_gallery_codes("fashion")  # (N, D)
    np.testing.assert_array_equal(r.vae_frames[0], _decoded(codes[[3]], 1)[0])
    np.testing.assert_array_equal(r.vae_frames[-1], _decoded(codes[[150]], 1)[0])
    for frame, seed in ((r.gan_frames[0], 4), (r.gan_frames[-1], 9)):
        alone = to_uint8(one_shot.one_shot_images("fashion", "gan", [1], seed))[0]
        assert np.abs(frame.astype(int) - alone.astype(int)).max() <= 1
    assert r.vae_strip.ndim == r.gan_strip.ndim == 2


# ----------------------------------------------------------------------------- bad input

@pytest.mark.parametrize("kwargs, message", [
    (dict(seeds=0), "number of seeds"),
    (dict(seeds=9), "number of seeds"),
    (dict(first_seed=-1), "Seed must be a whole number"),
    (dict(steps=0), "Steps must be a whole number"),
    (dict(steps=2.5), "Steps must be a whole number"),
    (dict(class_name="Horse"), "Known classes"),
    (dict(dataset="cifar"), "Known datasets"),
])
def test_bad_compare_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        demo.compare(**kwargs)


@pytest.mark.parametrize("kwargs, message", [
    (dict(x=5), "map's x must be a number from -4 to 4"),
    (dict(y=math.nan), "map's y"),
    (dict(x="left"), "map's x"),
    (dict(class_name="Horse"), "Known classes"),
])
def test_bad_latent_points(kwargs, message):
    with pytest.raises(ValueError, match=message):
        latent_map.latent_point(**kwargs)


@pytest.mark.parametrize("kwargs, message", [
    (dict(picture_a=-1), "Picture a must be a whole number from 0"),
    (dict(picture_b=10_000), "Picture b must be a whole number from 0"),
    (dict(seed_a=1.5), "Seed must be a whole number"),
])
def test_bad_interpolations(kwargs, message):
    with pytest.raises(ValueError, match=message):
        interpolation.interpolate(**kwargs)


def test_notes_name_the_class_with_its_article():
    _require("fashion", "vae", "gan")
    assert "decoded as an Ankle boot" in latent_map.latent_point(class_name="Ankle boot").note
    assert "decoded as a Bag" in latent_map.latent_point(class_name="Bag").note


def test_one_comparison_costs_at_most_five_default_ones():
    assert demo.MAX_PICTURE_STEPS == 5 * demo.DEFAULT_SEEDS * sampling.DEFAULTS.steps
    with pytest.raises(ValueError,
                       match=rf"at most {demo.MAX_PICTURE_STEPS} diffusion picture-steps .* 8 × 80 is 640"):
        demo.compare(seeds=8, steps=80)


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
