"""The one-shot models (VAE and GAN): random numbers in, one network pass, pictures out.

Owns: drawing each picture's random numbers from its seed (one ``torch.Generator``; the global seed
is never touched) and the pass itself (``sample``), through the interface both networks share (``noise_dim``,
``sample(z, y)``, ``one_pass``), so nothing here branches on which family it is; counting the images that go
through that pass (``counting_passes``); and the VAE's encoder means of the gallery pictures and its decoder
(``vae_gallery_codes``, ``vae_decode``: its learned space). The demos reach these two networks only through
this module.
Does not know: diffusion (explorer.denoiser), the UI, metrics.
"""

from __future__ import annotations

from functools import lru_cache
from typing import ContextManager, Sequence

import torch
from torch import nn

from explorer import nets, registry
from explorer.data import load_gallery, to_model_range
from explorer.sampling import labels_tensor

FAMILIES = ("vae", "gan")


def noise_for_seeds(seeds: Sequence[int], dim: int) -> torch.Tensor:
    """(N, dim) standard normal: seed s's own draw (seeds parsed: explorer.checks.check_seed), as a one-picture
    request of seed s draws it."""
    return torch.cat([torch.randn((1, dim), generator=torch.Generator().manual_seed(s)) for s in seeds])


def one_shot_images(dataset: str, family: str, labels, seed: int, device: torch.device | None = None) -> torch.Tensor:
    """The VAE (a code drawn from its class prior, decoded) or the GAN (its generator): (B, 1, 28, 28) in [-1, 1]."""
    loaded = registry.get(dataset, _checked(family), device)
    y = labels_tensor(dataset, labels, loaded.device)  # (B,)
    gen = torch.Generator(device="cpu").manual_seed(seed)  # parsed: explorer.checks.check_seed
    z = torch.randn((len(y), loaded.network.noise_dim), generator=gen).to(loaded.device)  # (B, dim)
    return sample(dataset, family, z, y, device).clamp(-1, 1)


def noise_dim(dataset: str, family: str) -> int:
    """How many random numbers the family's network turns into one picture."""
    return _network(dataset, family).noise_dim


def sample(dataset: str, family: str, z: torch.Tensor, y: torch.Tensor,
           device: torch.device | None = None) -> torch.Tensor:
    """Noise z (B, noise_dim) and classes y (B,) → the family's pictures (B, 1, 28, 28) float32 on its device."""
    loaded = registry.get(dataset, _checked(family), device)
    with torch.inference_mode():
        return loaded.network.sample(z.float().to(loaded.device), y.to(loaded.device)).float()


def counting_passes(dataset: str, family: str) -> ContextManager[list[int]]:
    """Counts the images that go through the family's one pass in this thread while the block runs: ``[count]``."""
    return nets.counting_passes(_network(dataset, family).one_pass)


@lru_cache(maxsize=4)
def vae_gallery_codes(dataset: str) -> torch.Tensor:
    """The VAE encoder's means of the shipped gallery pictures (explorer.data.load_gallery, in its order), each
    encoded with its class: (N, D) float64 on the CPU, computed once per dataset (shared: do not modify)."""
    images, labels = load_gallery(dataset)
    loaded = registry.get(dataset, "vae")
    x = to_model_range(images).to(loaded.device)  # (N, 1, 28, 28)
    with torch.inference_mode():
        mu, _ = loaded.network.encode(x, torch.from_numpy(labels).to(loaded.device))  # (N, D)
    return mu.double().cpu()


def vae_decode(dataset: str, codes: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """VAE codes (K, D) of classes y (K,) → pictures (K, 1, 28, 28) float32 in [-1, 1] on its device."""
    loaded = registry.get(dataset, "vae")
    with torch.inference_mode():
        return loaded.network.decode(codes.float().to(loaded.device), y.to(loaded.device)).float()


def _network(dataset: str, family: str) -> nn.Module:
    return registry.get(dataset, _checked(family)).network


def _checked(family: str) -> str:
    if family not in FAMILIES:
        raise ValueError(f"{family!r} is not a one-shot model; use one of: {', '.join(FAMILIES)}.")
    return family
