"""Samplers (DDPM, DDIM, DPM-Solver++(2M)) written once, as step generators.

Owns: the timestep sequence for K of the schedule's T steps ("trailing" spacing: the first step is
pure static at t = T−1, or, for a run that starts mid-schedule, the given ``start_t``), the update rule
of each sampler, the parsers of a sampler's name, a step count and η (``check_*``, on explorer.checks'
family), and ``sample_steps``: a generator that yields a ``Step`` per network call (x_t,
predicted x0, predicted noise, t, x after the step). ``sample`` just drains it. All per-run state lives
in the generator's locals; every random draw uses the caller's ``torch.Generator``.
Does not know: networks or guidance (it calls ``model_fn``), files, the UI.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterator

import torch

from explorer.checks import number_between, whole_number
from explorer.guidance import ModelFn, Prediction
from explorer.schedules import NUM_TIMESTEPS, Schedule

SAMPLERS = ("ddpm", "ddim", "dpm++")


@dataclass(frozen=True)
class Step:
    """One network call of a reverse run. Image tensors are (B, 1, 28, 28)."""

    index: int  # 0 … steps−1
    t: int  # schedule timestep the network saw
    x_t: torch.Tensor  # the image going in
    x0: torch.Tensor  # predicted clean image (clipped to [-1, 1] when the sampler clips)
    eps: torch.Tensor  # predicted noise (consistent with x0)
    x_next: torch.Tensor  # the image after this step (the final image after the last step)
    prediction: Prediction  # raw model output, incl. the guidance branches when they were run


def check_sampler(name) -> str:
    """A sampler's name as SAMPLERS spells it ("DPM-Solver++" → "dpm++"), else a ValueError listing them."""
    key = str(name).strip().lower().replace("dpm-solver++", "dpm++").replace("dpmpp", "dpm++")
    if key not in SAMPLERS:
        raise ValueError(f"Unknown sampler {name!r}. Known samplers: {', '.join(SAMPLERS)}.")
    return key


def check_steps(steps, most: int = NUM_TIMESTEPS) -> int:
    """A number of steps: a whole number from 1 to ``most`` (default: the schedule's T), else a ValueError."""
    return whole_number(steps, "Steps", 1, most)


def check_eta(eta) -> float:
    """DDIM's η: a number from 0 (deterministic) to 1 (as much fresh noise as DDPM), else a ValueError."""
    return number_between(eta, "η (eta)", 0.0, 1.0)


def timesteps_for(schedule: Schedule, steps: int, start_t: int | None = None) -> list[int]:
    """K timesteps from ``start_t`` (default T−1, pure static) down, evenly spaced ("trailing", as diffusers'
    timestep_spacing): with the default start exactly the full run's sequence."""
    top = schedule.num_timesteps if start_t is None else start_t + 1  # timesteps 0 … top − 1 are used
    if steps > top:
        raise ValueError(f"A run starting at timestep {top - 1} has at most {top} steps, got {steps}.")
    ratio = top / steps
    return [int(round(top - i * ratio)) - 1 for i in range(steps)]


def sample_steps(model_fn: ModelFn, schedule: Schedule, x_T: torch.Tensor, sampler: str = "dpm++",
                 steps: int = 20, eta: float = 0.0, generator: torch.Generator | None = None,
                 clip_x0: bool = True, start_t: int | None = None) -> Iterator[Step]:
    """Run the reverse process from ``x_T`` (B, 1, 28, 28), yielding one ``Step`` per network call.

    ``sampler``, ``steps`` and ``eta`` are trusted as parsed (explorer.sampling.SamplingSettings, or the check_*
    above at a demo's boundary). ``start_t``: the schedule timestep ``x_T`` is at (default T−1, pure static); a
    picture noised part of the way (q_sample to ``start_t``) is finished from there in ``steps`` steps down to 0.
    """
    ts = timesteps_for(schedule, steps, start_t)
    alpha_bar = schedule.alpha_bar.tolist()
    x, previous_x0 = x_T, None
    for i, t in enumerate(ts):
        ab_t = alpha_bar[t]
        ab_prev = alpha_bar[ts[i + 1]] if i + 1 < steps else 1.0
        pred = model_fn(x, t)
        x0 = pred.x0.clamp(-1, 1) if clip_x0 else pred.x0
        eps = (x - math.sqrt(ab_t) * x0) / math.sqrt(1 - ab_t) if clip_x0 else pred.eps
        if sampler == "ddpm":
            x_next = _ddpm_update(x, x0, ab_t, ab_prev, generator)
        elif sampler == "ddim":
            x_next = _ddim_update(x0, eps, ab_t, ab_prev, eta, generator)
        else:
            h_prev = None if previous_x0 is None else _lam(ab_t) - _lam(alpha_bar[ts[i - 1]])
            x_next = _dpmpp_2m_update(x, x0, previous_x0, ab_t, ab_prev, h_prev)
            previous_x0 = x0
        yield Step(index=i, t=t, x_t=x, x0=x0, eps=eps, x_next=x_next, prediction=pred)
        x = x_next


def sample(model_fn: ModelFn, schedule: Schedule, x_T: torch.Tensor, **kwargs) -> torch.Tensor:
    """The final images (B, 1, 28, 28) of ``sample_steps``: the batch call drains the generator."""
    last = None
    for last in sample_steps(model_fn, schedule, x_T, **kwargs):
        pass
    return last.x_next


def _noise_like(x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    return torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)


def _ddpm_update(x, x0, ab_t, ab_prev, generator):
    """Ancestral step with respaced betas: posterior mean of q(x_prev | x_t, x0) + σ·z, σ² = β̃."""
    beta = 1 - ab_t / ab_prev
    mean = (math.sqrt(ab_prev) * beta / (1 - ab_t)) * x0 + (math.sqrt(1 - beta) * (1 - ab_prev) / (1 - ab_t)) * x
    if ab_prev >= 1.0:  # the last step returns the mean
        return mean
    variance = max((1 - ab_prev) / (1 - ab_t) * beta, 1e-20)
    return mean + math.sqrt(variance) * _noise_like(x, generator)


def _ddim_update(x0, eps, ab_t, ab_prev, eta, generator):
    """DDIM (Song et al. 2021): η = 0 deterministic, η = 1 matches DDPM's variance."""
    sigma = eta * math.sqrt((1 - ab_prev) / (1 - ab_t) * (1 - ab_t / ab_prev))
    x_prev = math.sqrt(ab_prev) * x0 + math.sqrt(max(1 - ab_prev - sigma ** 2, 0.0)) * eps
    if sigma > 0:
        x_prev = x_prev + sigma * _noise_like(x0, generator)
    return x_prev


def _lam(ab: float) -> float:
    """log(α/σ), the half log-SNR."""
    return 0.5 * (math.log(ab) - math.log(1 - ab))


def _dpmpp_2m_update(x, x0, previous_x0, ab_t, ab_prev, h_prev):
    """DPM-Solver++(2M) (Lu et al. 2022), data prediction, midpoint form as in diffusers.

    First order on the first step; the last step (to σ = 0) is first order too and lands exactly on
    the prediction, as diffusers does with final_sigmas_type="zero".
    """
    if ab_prev >= 1.0:
        return x0
    alpha_next, sigma_next = math.sqrt(ab_prev), math.sqrt(1 - ab_prev)
    sigma_t = math.sqrt(1 - ab_t)
    h = _lam(ab_prev) - _lam(ab_t)
    d = x0 if previous_x0 is None else x0 + (0.5 * h / h_prev) * (x0 - previous_x0)
    return (sigma_next / sigma_t) * x - alpha_next * math.expm1(-h) * d
