"""The one-shot models (VAE and GAN): random numbers in, one network pass, pictures out.

Owns: drawing each picture's random numbers from its seed (one ``torch.Generator``; the global seed
is never touched) and the pass itself, through the interface both networks share (``noise_dim``,
``sample(z, y)``), so nothing here branches on which family it is.
Does not know: diffusion (explorer.denoiser), the UI, metrics.
"""

from __future__ import annotations

from typing import Sequence

import torch

from explorer import registry
from explorer.checks import check_seed
from explorer.sampling import labels_tensor

FAMILIES = ("vae", "gan")


def noise_for_seeds(seeds: Sequence[int], dim: int) -> torch.Tensor:
    """(N, dim) standard normal: seed s's own draw, as a one-picture request of seed s draws it."""
    return torch.cat([torch.randn((1, dim), generator=torch.Generator().manual_seed(check_seed(s))) for s in seeds])


def one_shot_images(dataset: str, family: str, labels, seed: int, device: torch.device | None = None) -> torch.Tensor:
    """The VAE (a code drawn from its class prior, decoded) or the GAN (its generator): (B, 1, 28, 28) in [-1, 1]."""
    loaded = registry.get(dataset, _checked(family), device)
    y = labels_tensor(dataset, labels, loaded.device)  # (B,)
    gen = torch.Generator(device="cpu").manual_seed(check_seed(seed))
    z = torch.randn((len(y), loaded.network.noise_dim), generator=gen).to(loaded.device)  # (B, dim)
    with torch.inference_mode():
        return loaded.network.sample(z, y).float().clamp(-1, 1)


def _checked(family: str) -> str:
    if family not in FAMILIES:
        raise ValueError(f"{family!r} is not a one-shot model; use one of: {', '.join(FAMILIES)}.")
    return family
