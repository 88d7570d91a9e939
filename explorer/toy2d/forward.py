"""The forward process on 2-D points: the project's schedules (explorer.schedules) and formula, k as on the Add
noise tab (k noising steps done; k = 0 is the clean set, k = 1000 pure static; k steps are the schedule's t = k − 1).

Owns: ``noise_points`` (the closed-form jump x_k = √ᾱ·x_0 + √(1−ᾱ)·ε) and the levels left at k.
Does not know: networks, the UI.
"""

from __future__ import annotations

from functools import lru_cache

import torch

from explorer.checks import whole_number
from explorer.schedules import NUM_TIMESTEPS, SCHEDULE_NAMES, Schedule, make_schedule, q_sample

MAX_K = NUM_TIMESTEPS
DEFAULT_SCHEDULE = "cosine"


@lru_cache(maxsize=None)
def schedule(name: str = DEFAULT_SCHEDULE) -> Schedule:
    """The schedule called ``name`` (one of explorer.schedules.SCHEDULE_NAMES), made once."""
    if name not in SCHEDULE_NAMES:
        raise ValueError(f"Unknown schedule {name!r}. Known schedules: {', '.join(SCHEDULE_NAMES)}.")
    return make_schedule(name)


def check_k(k) -> int:
    return whole_number(k, "k", 0, MAX_K, "noising steps")


def levels(k: int, schedule_name: str = DEFAULT_SCHEDULE) -> tuple[float, float]:
    """(√ᾱ, √(1−ᾱ)) after k noising steps: how much of the shape and of the static is in x_k."""
    k = check_k(k)
    if k == 0:
        return 1.0, 0.0
    ab = float(schedule(schedule_name).alpha_bar[k - 1])
    return ab ** 0.5, (1 - ab) ** 0.5


def noise_points(points: torch.Tensor, k: int, noise: torch.Tensor | None = None,
                 schedule_name: str = DEFAULT_SCHEDULE, generator: torch.Generator | None = None) -> torch.Tensor:
    """The points (N, 2) after k noising steps, in one jump; ``noise`` (N, 2) or drawn from ``generator``."""
    k = check_k(k)
    if noise is None:
        if generator is None:
            raise ValueError("Give the noise or a torch.Generator to draw it from.")
        noise = torch.randn(points.shape, generator=generator, dtype=points.dtype)
    if k == 0:
        return points.clone()
    t = torch.full((points.shape[0],), k - 1, dtype=torch.long)
    return q_sample(schedule(schedule_name), points, t, noise)
