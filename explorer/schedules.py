"""Noise schedules as plain tensors, and the closed-form forward jump.

Owns: the betas of the linear and cosine schedules (T = 1000 by default), the derived
``alpha_bar`` (how much signal is left at step t), SNR and log-SNR, ``q_sample`` (jump straight to
step t) and ``q_step`` (add one step of noise), and the conversions between the model's output
parametrisations (eps, x0, v).
Does not know: networks, sampling loops, the UI. Holds no state and prints nothing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

NUM_TIMESTEPS = 1000
SCHEDULE_NAMES = ("linear", "cosine")


@dataclass(frozen=True)
class Schedule:
    """A discrete schedule of ``T`` steps. Index t = 0 … T-1 is the t-th noising step."""

    name: str
    betas: torch.Tensor  # (T,) float64

    @property
    def num_timesteps(self) -> int:
        return int(self.betas.shape[0])

    @property
    def alphas(self) -> torch.Tensor:  # (T,)
        return 1.0 - self.betas

    @property
    def alpha_bar(self) -> torch.Tensor:  # (T,) signal power left after step t
        return torch.cumprod(self.alphas, dim=0)

    def snr(self) -> torch.Tensor:  # (T,)
        ab = self.alpha_bar
        return ab / (1.0 - ab)

    def log_snr(self) -> torch.Tensor:  # (T,)
        return torch.log(self.snr())


def linear_betas(num_timesteps: int = NUM_TIMESTEPS, start: float = 1e-4, end: float = 0.02) -> torch.Tensor:
    """DDPM's linear schedule (Ho et al. 2020), scaled so other T keep the same total noise."""
    scale = 1000.0 / num_timesteps
    return torch.linspace(scale * start, scale * end, num_timesteps, dtype=torch.float64)


def cosine_betas(num_timesteps: int = NUM_TIMESTEPS, s: float = 0.008, max_beta: float = 0.999) -> torch.Tensor:
    """Nichol & Dhariwal's cosine schedule: alpha_bar(t) = cos²(((t/T + s)/(1 + s))·π/2)."""
    def f(i: float) -> float:
        return math.cos((i / num_timesteps + s) / (1 + s) * math.pi / 2) ** 2

    betas = [min(1 - f(i + 1) / f(i), max_beta) for i in range(num_timesteps)]
    return torch.tensor(betas, dtype=torch.float64)


def make_schedule(name: str = "cosine", num_timesteps: int = NUM_TIMESTEPS) -> Schedule:
    """The schedule called ``name`` ("linear" or "cosine")."""
    if name == "linear":
        return Schedule("linear", linear_betas(num_timesteps))
    if name == "cosine":
        return Schedule("cosine", cosine_betas(num_timesteps))
    raise ValueError(f"Unknown schedule {name!r}. Known schedules: {', '.join(SCHEDULE_NAMES)}.")


def _gather(values: torch.Tensor, t: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """values[t] reshaped to broadcast over ``like`` (B, C, H, W), in ``like``'s dtype/device."""
    out = values.to(like.device)[t.to(like.device).long()]
    return out.to(like.dtype).view(-1, *([1] * (like.dim() - 1)))


def q_sample(schedule: Schedule, x0: torch.Tensor, t: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """Closed-form jump to step t: x_t = √ᾱ_t·x0 + √(1−ᾱ_t)·noise.  x0, noise (B, C, H, W); t (B,)."""
    ab = _gather(schedule.alpha_bar, t, x0)
    return ab.sqrt() * x0 + (1 - ab).sqrt() * noise


def q_step(schedule: Schedule, x_prev: torch.Tensor, t: int, noise: torch.Tensor) -> torch.Tensor:
    """One small noising step t: x_t = √(1−β_t)·x_{t−1} + √β_t·noise."""
    beta = float(schedule.betas[t])
    return math.sqrt(1 - beta) * x_prev + math.sqrt(beta) * noise


# ----------------------------------------------------------------------------- parametrisations

def predictions_from_output(schedule: Schedule, x_t: torch.Tensor, t: torch.Tensor,
                            output: torch.Tensor, prediction: str) -> tuple[torch.Tensor, torch.Tensor]:
    """The network's output in its parametrisation → (predicted x0, predicted noise), both (B,C,H,W)."""
    ab = _gather(schedule.alpha_bar, t, x_t)
    a, s = ab.sqrt(), (1 - ab).sqrt()
    if prediction == "eps":
        eps = output
        x0 = (x_t - s * eps) / a
    elif prediction == "v":  # v = a·eps − s·x0
        x0 = a * x_t - s * output
        eps = s * x_t + a * output
    elif prediction == "x0":
        x0 = output
        eps = (x_t - a * x0) / s
    else:
        raise ValueError(f"Unknown prediction type {prediction!r}; use eps, v or x0.")
    return x0, eps


def training_target(schedule: Schedule, x0: torch.Tensor, t: torch.Tensor,
                    noise: torch.Tensor, prediction: str) -> torch.Tensor:
    """What the network should output at (x0, t, noise) in its parametrisation."""
    if prediction == "eps":
        return noise
    if prediction == "x0":
        return x0
    if prediction == "v":
        ab = _gather(schedule.alpha_bar, t, x0)
        return ab.sqrt() * noise - (1 - ab).sqrt() * x0
    raise ValueError(f"Unknown prediction type {prediction!r}; use eps, v or x0.")
