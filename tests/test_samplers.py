"""Samplers against an independent implementation (diffusers' schedulers), and generator/batch agreement."""

import pytest
import torch

from explorer.guidance import Prediction
from explorer.samplers import check_eta, check_sampler, check_steps, sample, sample_steps, timesteps_for
from explorer.schedules import make_schedule

diffusers = pytest.importorskip("diffusers")


def dummy_eps_model(schedule):
    """A weight-free 'network': a fixed nonlinear function of (x_t, t) as the noise prediction."""
    alpha_bar = schedule.alpha_bar

    def model_fn(x, t):
        eps = 0.8 * torch.tanh(1.5 * x) + 0.1 * torch.cos(torch.tensor(t / 100.0)) * x.flip(-1)  # (B,1,H,W)
        ab = float(alpha_bar[t])
        x0 = (x - (1 - ab) ** 0.5 * eps) / ab ** 0.5
        return Prediction(x0=x0.double(), eps=eps.double())

    return model_fn


def in_float64(scheduler, schedule):
    """diffusers keeps its schedule in float32; give it ours in float64 so the comparison is exact."""
    ab = schedule.alpha_bar
    scheduler.betas, scheduler.alphas, scheduler.alphas_cumprod = schedule.betas, 1 - schedule.betas, ab
    if hasattr(scheduler, "final_alpha_cumprod"):
        scheduler.final_alpha_cumprod = torch.tensor(1.0, dtype=torch.float64)
    if hasattr(scheduler, "lambda_t"):
        scheduler.alpha_t, scheduler.sigma_t = ab.sqrt(), (1 - ab).sqrt()
        scheduler.lambda_t = torch.log(scheduler.alpha_t) - torch.log(scheduler.sigma_t)
    return scheduler


def assert_matches(ours_x, reference_x):
    """diffusers does part of its arithmetic in float32: agree to float32 precision, relative to the values."""
    scale = float(reference_x.abs().max().clamp(min=1.0))
    torch.testing.assert_close(ours_x, reference_x, rtol=1e-5, atol=1e-5 * scale)


def reference_run(scheduler, model_fn, x, steps, generator=None, **step_kwargs):
    scheduler.set_timesteps(steps)
    out = []
    for t in scheduler.timesteps:
        eps = model_fn(x, int(t)).eps
        x = scheduler.step(eps, t, x, generator=generator, **step_kwargs).prev_sample
        out.append(x)
    return out


def _common(schedule):
    return dict(num_train_timesteps=schedule.num_timesteps, trained_betas=schedule.betas.numpy(),
                timestep_spacing="trailing")


def ours(schedule, x, sampler, steps, **kw):
    return [s.x_next for s in sample_steps(dummy_eps_model(schedule), schedule, x, sampler=sampler, steps=steps, **kw)]


@pytest.mark.parametrize("name", ["linear", "cosine"])
@pytest.mark.parametrize("steps", [1, 8, 25, 50])  # diffusers' DDIM steps back by T // K: use divisors of T
def test_ddim_matches_diffusers(name, steps):
    schedule = make_schedule(name)
    x = torch.randn(3, 1, 8, 8, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    ref = in_float64(diffusers.DDIMScheduler(**_common(schedule), clip_sample=True, clip_sample_range=1.0,
                                  set_alpha_to_one=True, steps_offset=0), schedule)
    ref.set_timesteps(steps)
    assert ref.timesteps.tolist() == timesteps_for(schedule, steps)
    expected = reference_run(ref, dummy_eps_model(schedule), x, steps, eta=0.0, use_clipped_model_output=True)
    got = ours(schedule, x, "ddim", steps, clip_x0=True)
    for a, b in zip(got, expected):
        assert_matches(a, b)


def test_ddim_with_eta_matches_diffusers():
    schedule = make_schedule("cosine")
    x = torch.randn(2, 1, 8, 8, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    ref = in_float64(diffusers.DDIMScheduler(**_common(schedule), clip_sample=True, set_alpha_to_one=True,
                                             steps_offset=0), schedule)
    expected = reference_run(ref, dummy_eps_model(schedule), x, 10, generator=torch.Generator().manual_seed(5),
                             eta=0.7, use_clipped_model_output=True)
    got = ours(schedule, x, "ddim", 10, eta=0.7, generator=torch.Generator().manual_seed(5))
    for a, b in zip(got, expected):
        assert_matches(a, b)


@pytest.mark.parametrize("name", ["linear", "cosine"])
@pytest.mark.parametrize("steps", [10, 1000])
def test_ddpm_matches_diffusers(name, steps):
    schedule = make_schedule(name)
    x = torch.randn(2, 1, 8, 8, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    ref = in_float64(diffusers.DDPMScheduler(**_common(schedule), clip_sample=True, clip_sample_range=1.0,
                                  variance_type="fixed_small", steps_offset=0), schedule)
    ref.set_timesteps(steps)
    assert ref.timesteps.tolist() == timesteps_for(schedule, steps)
    expected = reference_run(ref, dummy_eps_model(schedule), x, steps, generator=torch.Generator().manual_seed(9))
    got = ours(schedule, x, "ddpm", steps, generator=torch.Generator().manual_seed(9))
    for a, b in zip(got, expected):
        assert_matches(a, b)


@pytest.mark.parametrize("name", ["linear", "cosine"])
@pytest.mark.parametrize("steps", [1, 2, 8, 20, 40])
def test_dpmpp_2m_matches_diffusers(name, steps):
    schedule = make_schedule(name)
    x = torch.randn(2, 1, 8, 8, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    ref = in_float64(diffusers.DPMSolverMultistepScheduler(**_common(schedule), algorithm_type="dpmsolver++",
                                                           solver_order=2, solver_type="midpoint",
                                                           final_sigmas_type="zero", lower_order_final=True,
                                                           thresholding=False), schedule)
    ref.set_timesteps(steps)
    assert ref.timesteps.tolist() == timesteps_for(schedule, steps)
    expected = reference_run(ref, dummy_eps_model(schedule), x, steps)
    got = ours(schedule, x, "dpm++", steps, clip_x0=False)
    for a, b in zip(got, expected):
        assert_matches(a, b)


@pytest.mark.parametrize("sampler", ["ddpm", "ddim", "dpm++"])
def test_generator_and_batch_call_agree(sampler):
    schedule = make_schedule("cosine")
    x = torch.randn(2, 1, 8, 8, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    kw = dict(sampler=sampler, steps=12, eta=0.5)
    steps = list(sample_steps(dummy_eps_model(schedule), schedule, x, generator=torch.Generator().manual_seed(7),
                              **kw))
    final = sample(dummy_eps_model(schedule), schedule, x, generator=torch.Generator().manual_seed(7), **kw)
    assert len(steps) == 12
    assert [s.index for s in steps] == list(range(12))
    torch.testing.assert_close(steps[-1].x_next, final, rtol=0, atol=0)
    for prev, nxt in zip(steps, steps[1:]):
        assert torch.equal(prev.x_next, nxt.x_t)
        assert prev.t > nxt.t


def test_step_exposes_consistent_x0_and_eps():
    schedule = make_schedule("cosine")
    x = torch.randn(1, 1, 8, 8, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    for step in sample_steps(dummy_eps_model(schedule), schedule, x, sampler="ddim", steps=5):
        ab = float(schedule.alpha_bar[step.t])
        torch.testing.assert_close(ab ** 0.5 * step.x0 + (1 - ab) ** 0.5 * step.eps, step.x_t)
        assert step.x0.abs().max() <= 1.0


def test_trailing_timesteps_start_at_pure_noise():
    schedule = make_schedule("cosine")
    assert timesteps_for(schedule, 1) == [999]
    assert timesteps_for(schedule, 4) == [999, 749, 499, 249]
    assert timesteps_for(schedule, 1000) == list(range(999, -1, -1))


@pytest.mark.parametrize("bad", [0, -1, 10 ** 9, 2.5, "many"])
def test_bad_steps_are_refused(bad):
    with pytest.raises(ValueError, match="Steps must be a whole number from 1 to 1000"):
        check_steps(bad)


def test_bad_sampler_and_eta_are_refused():
    with pytest.raises(ValueError, match="Known samplers"):
        check_sampler("euler")
    assert check_sampler("DPM-Solver++") == "dpm++"
    for bad in (float("nan"), -0.1, 1.5):
        with pytest.raises(ValueError, match="eta"):
            check_eta(bad)
