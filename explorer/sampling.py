"""What every picture request shares: the app's default sampling settings, classes as a tensor, and seeded
starting static.

Owns: ``SamplingSettings`` (the defaults every entry point shares; each value parsed when the settings are
made, so what takes a SamplingSettings trusts it), ``LIVE_MAX_STEPS`` and ``live`` (the cost limit of one
request in the app), turning class ids or names into a label tensor, and turning a seed (parsed:
explorer.checks.check_seed) into starting static (one ``torch.Generator`` per seed; the global seed is never
touched).
Does not know: networks (explorer.denoiser runs the diffusion model, explorer.one_shot the VAE and
GAN), the UI, plots, metrics.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch

from explorer.data import class_index, dataset_info
from explorer.guidance import GuidanceSteps, check_guidance
from explorer.samplers import check_eta, check_sampler, check_steps

IMAGE_SHAPE = (1, 28, 28)
LIVE_MAX_STEPS = 80  # steps of one request in the app: 5× the default, so no request holds the model for long


@dataclass(frozen=True)
class SamplingSettings:
    """How a picture is made; the defaults are the app's (chosen from measurements: see the diffusion model cards).

    Valid by construction: each value is parsed when the settings are made (a ValueError names the setting), so
    the layers below (explorer.denoiser, explorer.samplers) trust them. ``replace`` parses again, as a new object.
    """

    sampler: str = "dpm++"
    steps: int = 16  # quality measured as at 20 (model cards: quality_at_defaults, steps_sweep), 20 % less work
    guidance: float = 3.0
    eta: float = 0.0
    guidance_steps: GuidanceSteps = GuidanceSteps.MEASURED  # where s > 1 applies (resolved by the Denoiser)
    clip_x0: bool = True

    def __post_init__(self):
        if not isinstance(self.guidance_steps, GuidanceSteps):
            raise ValueError(f"Where guidance applies must be a GuidanceSteps, got {self.guidance_steps!r}.")
        parsed = dict(steps=check_steps(self.steps), sampler=check_sampler(self.sampler),
                      guidance=check_guidance(self.guidance), eta=check_eta(self.eta), clip_x0=bool(self.clip_x0))
        for name, value in parsed.items():
            object.__setattr__(self, name, value)  # frozen: set once, here


DEFAULTS = SamplingSettings()


def live(settings: SamplingSettings) -> SamplingSettings:
    """``settings`` if one request in the app may run them (at most LIVE_MAX_STEPS steps), else a ValueError."""
    if settings.steps > LIVE_MAX_STEPS:
        raise ValueError(f"Steps must be a whole number from 1 to {LIVE_MAX_STEPS} here, got {settings.steps}: one "
                         f"request may take at most {LIVE_MAX_STEPS} steps ({LIVE_MAX_STEPS // DEFAULTS.steps}× the "
                         f"default), so that no picture holds the model for the whole class.")
    return settings


def labels_tensor(dataset: str, labels, device: torch.device) -> torch.Tensor | None:
    """Class ids or names → (B,) long on ``device``; None stays None (unconditional)."""
    if labels is None:
        return None
    info = dataset_info(dataset)
    return torch.tensor([class_index(info, label) for label in labels], dtype=torch.long, device=device)


def starting_static(seed: int, batch: int, device: torch.device) -> tuple[torch.Tensor, torch.Generator]:
    """x_T (B, 1, 28, 28) ~ N(0, I) from ``seed``, and the generator (on ``device``) for later draws."""
    gen = torch.Generator(device="cpu").manual_seed(seed)
    x_T = torch.randn((batch, *IMAGE_SHAPE), generator=gen).to(device)
    later = torch.Generator(device=device).manual_seed(seed ^ 0x5EED)
    return x_T, later


def static_per_seed(seeds: Sequence[int], device: torch.device) -> tuple[torch.Tensor, torch.Generator]:
    """One picture's static per seed, each seed's own draw (as a one-picture run makes it): (N, 1, 28, 28),
    and the first seed's generator for later draws."""
    x_T = torch.cat([starting_static(seed, 1, device)[0] for seed in seeds])  # (N, 1, 28, 28)
    return x_T, starting_static(seeds[0], 1, device)[1]
