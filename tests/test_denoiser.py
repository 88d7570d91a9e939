"""explorer.denoiser: one object per shipped denoiser; bounded batches give the same pictures."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from explorer import denoiser, sampling
from explorer.data import DATASETS, to_uint8
from explorer.guidance import GuidanceSteps, guide
from explorer.samplers import timesteps_for
from explorer.schedules import make_schedule

FEW = sampling.SamplingSettings(steps=4)


@pytest.mark.parametrize("dataset", list(DATASETS))
def test_the_denoiser_carries_its_model_s_measured_settings(dataset):
    model = denoiser.get(dataset)
    assert model is denoiser.get(dataset)  # built once per process
    assert model.guidance_interval == tuple(model.config["sampling"]["guidance_interval"])
    assert model.null_class == model.config["architecture"]["num_classes"]
    assert model.schedule.num_timesteps == model.config["schedule"]["num_timesteps"]


def test_chunked_equals_unchunked(monkeypatch):
    """In one precision, the same seed gives the same pictures whatever the network batch (DDPM draws fresh noise
    too). Fixed to fp32 here: with bf16 chosen, calls of fewer than ``fp32_below`` pictures run in fp32 (see the
    next test for what that changes)."""
    model = replace(denoiser.get("mnist"), precision="fp32")
    labels = [i % 10 for i in range(24)]
    settings = sampling.SamplingSettings(steps=3, sampler="ddpm")
    whole = model.images(labels, 11, settings)
    monkeypatch.setattr(denoiser, "MAX_NETWORK_BATCH", 5)  # 48 images per guided call → 10 chunks
    chunked = model.images(labels, 11, settings)
    torch.testing.assert_close(chunked, whole, atol=1e-4, rtol=0)
    assert (to_uint8(chunked) == to_uint8(whole)).mean() > 0.999


def test_a_picture_made_in_bf16_differs_from_fp32_by_a_few_grey_levels_at_most():
    """Per batch size, a student's picture is made in fp32 alone and in bf16 when its rows share a large call with
    others' (explorer.precision): the same seed then gives the same picture to within a few grey levels (measured
    2026-12-03, Fashion, 24 pictures at the defaults: 72 % of pixels equal, 99.7 % within 2 levels, 7 at most)."""
    model = denoiser.get("fashion")
    labels = [i % 10 for i in range(24)]
    fp32 = to_uint8(replace(model, precision="fp32").images(labels, 11, sampling.DEFAULTS)).astype(int)
    bf16 = to_uint8(replace(model, precision="bf16", fp32_below=0).images(labels, 11, sampling.DEFAULTS)).astype(int)
    apart = abs(fp32 - bf16)
    assert (apart <= 2).mean() > 0.99 and apart.max() <= 16


def test_per_seed_static_matches_one_picture_runs():
    model = denoiser.get("fashion")
    both = model.images([3, 3], [5, 6], FEW)
    for row, seed in enumerate((5, 6)):
        torch.testing.assert_close(both[row:row + 1], model.images([3], seed, FEW), atol=1e-4, rtol=0)


def test_the_app_cost_limit_names_the_setting():
    limit = sampling.LIVE_MAX_STEPS
    assert sampling.live(sampling.SamplingSettings(steps=limit)).steps == limit
    with pytest.raises(ValueError, match=f"Steps must be a whole number from 1 to {limit} here"):
        sampling.live(sampling.SamplingSettings(steps=limit + 1))
    assert sampling.SamplingSettings(steps=1000).steps == 1000  # the command line has no such limit


def test_fp32_on_the_cpu_runs_channels_last_weights(monkeypatch):
    from explorer import precision, registry

    loaded = registry.get("mnist", "diffusion", torch.device("cpu"))
    shared = denoiser.get("mnist", torch.device("cpu"))  # the process's own choice, restored below
    monkeypatch.setenv(precision.ENV_VAR, "fp32")
    try:
        model = denoiser._build(loaded)
        conv = next(m for m in loaded.network.modules() if isinstance(m, torch.nn.Conv2d))  # model's own
        assert model.precision == "fp32" and conv.weight.is_contiguous(memory_format=torch.channels_last)
    finally:
        if shared.precision != "fp32":
            loaded.network.to(memory_format=torch.contiguous_format)


# ----------------------------------------------------------------------------- the methods the demos use

def test_plain_guesses_are_the_told_the_class_guess_at_each_row_s_own_step():
    """``guesses``: one call over rows at different steps gives each row's s = 1 guess (``model_fn(labels, 1)``)."""
    model = denoiser.get("mnist")
    x_t = torch.randn(3, 1, 28, 28, generator=torch.Generator().manual_seed(0))  # (3, 1, 28, 28)
    t, labels = torch.tensor([10, 400, 900]), torch.tensor([3, 5, 7])
    x0, eps = model.guesses(x_t, t, labels)  # (3, 1, 28, 28) each
    for i in range(3):
        alone = model.model_fn(labels[i:i + 1], 1.0)(x_t[i:i + 1], int(t[i]))
        torch.testing.assert_close(eps[i:i + 1], alone.eps, atol=1e-4, rtol=0)
        torch.testing.assert_close(x0[i:i + 1], alone.x0, atol=1e-3, rtol=0)
    told_nothing, _ = model.guesses(x_t, t, None)
    torch.testing.assert_close(told_nothing, model.guesses(x_t, t, torch.full((3,), model.null_class))[0])


def test_counting_passes_counts_the_images_through_the_network_in_this_thread():
    model = denoiser.get("mnist")
    with model.counting_passes() as passes:
        model.guesses(torch.zeros(5, 1, 28, 28), torch.full((5,), 500), None)
    assert passes == [5]
    with model.counting_passes() as passes:
        model.images([1, 2], 0, sampling.SamplingSettings(steps=2, guidance=3.0,
                                                               guidance_steps=GuidanceSteps.between(0, 999)))
    assert passes == [2 * 2 * 2]  # 2 pictures × 2 branches × 2 steps


def test_guided_steps_are_the_steps_inside_the_interval():
    model = denoiser.get("fashion")
    lo, hi = model.guidance_interval
    inside = tuple(i + 1 for i, t in enumerate(timesteps_for(model.schedule, 8)) if lo <= t <= hi)
    assert model.guided_steps(8) == inside and 0 < len(inside) < 8
    assert model.guided_steps(8, GuidanceSteps.EVERY_STEP) == tuple(range(1, 9))
    assert model.guided_steps(8, GuidanceSteps.between(lo, hi)) == inside


def test_where_guidance_applies_is_resolved_by_the_denoiser():
    model, _ = _toy_denoiser(interval=(0, 550))
    assert model.interval(GuidanceSteps.MEASURED) == (0, 550)
    assert model.interval(GuidanceSteps.EVERY_STEP) is None
    assert model.interval(GuidanceSteps.between(100, 200)) == (100, 200)
    unmeasured, _ = _toy_denoiser(interval=None)
    assert unmeasured.interval(GuidanceSteps.MEASURED) is None  # no interval measured: every step
    with pytest.raises(ValueError, match="The last guided timestep must be a whole number from 300 to 999"):
        GuidanceSteps.between(300, 200)


@pytest.mark.parametrize("call", [lambda m: m.steering_fn([(1, 2)], 3.0),
                                  lambda m: m.guesses(torch.zeros(1, 1, 28, 28), torch.tensor([5]), None)])
def test_a_fast_copy_refuses_what_it_did_not_learn(call):
    fast_copy = denoiser.get("mnist", family="distilled")
    with pytest.raises(ValueError, match="Use mnist-diffusion"):
        call(fast_copy)


# ----------------------------------------------------------------------------- the summed steering signals
# (Impossible requests: several classes per picture)

class _CountingToy(torch.nn.Module):
    """A weight-free 'denoiser' whose output depends on the class; counts its calls."""

    def __init__(self):
        super().__init__()
        self.calls = 0

    def forward(self, x, t, y):
        self.calls += 1
        return 0.1 * x + 0.01 * (y[:, None, None, None].float() + 1)


def _toy_denoiser(interval=(0, 550)) -> tuple[denoiser.Denoiser, _CountingToy]:
    toy = _CountingToy()
    return denoiser.Denoiser(name="toy", dataset="fashion", _network=toy, schedule=make_schedule("cosine"),
                             prediction="eps", null_class=10, guidance_interval=interval,
                             device=torch.device("cpu"), precision="fp32", config={}), toy


@pytest.mark.parametrize("t, s_used", [(500, 3.0), (900, 1.0)])  # inside / outside the interval
def test_each_class_asked_for_adds_its_steering_signal(t, s_used):
    model, toy = _toy_denoiser()
    x = torch.randn(3, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    fn = model.steering_fn([(1,), (2, 3), (4,)], scale=3.0)
    out = fn(x, t)
    assert toy.calls == 1  # every branch of every picture in one network call
    eps = {c: toy(x, None, torch.full((3,), c)) for c in (10, 1, 2, 3, 4)}  # the toy predicts eps directly
    torch.testing.assert_close(out.eps[0], guide(eps[10], eps[1], s_used)[0])
    torch.testing.assert_close(out.eps[1], (eps[10] + s_used * ((eps[2] - eps[10]) + (eps[3] - eps[10])))[1])
    torch.testing.assert_close(out.eps[2], guide(eps[10], eps[4], s_used)[2])


def test_every_step_means_every_step():
    model, _ = _toy_denoiser()
    x = torch.randn(1, 1, 28, 28, generator=torch.Generator().manual_seed(1))
    measured = model.steering_fn([(1, 2)], 3.0)(x, 900)
    every = model.steering_fn([(1, 2)], 3.0, GuidanceSteps.EVERY_STEP)(x, 900)
    assert not torch.allclose(measured.eps, every.eps)
