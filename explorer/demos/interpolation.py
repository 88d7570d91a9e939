"""The "Walking between two pictures" demo on the Compare tab: VAE and GAN interpolation.

Owns: ``interpolate``: FRAMES pictures of one class, the VAE's between the codes of two gallery pictures (straight
between the encoder means) and the GAN's between the noise of two seeds (along the sphere where such noise lies,
``_slerp``), each as a labelled strip, with the note that says what they show.
Does not know: the UI, the networks (explorer.one_shot encodes, decodes and generates).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from explorer import one_shot, plots, prompts
from explorer.checks import check_seed, whole_number
from explorer.data import dataset_info, load_gallery, to_uint8
from explorer.demos.choices import class_choice
from explorer.demos.framing import headroom

FRAMES = 8  # pictures in an interpolation strip
TILE = 84  # px of a picture in a strip


@dataclass(frozen=True)
class Interpolation:
    vae_frames: np.ndarray  # (FRAMES, 28, 28) uint8, between the codes of two gallery pictures
    vae_strip: np.ndarray  # (H, W) uint8: picture a, the frames, picture b
    gan_frames: np.ndarray  # (FRAMES, 28, 28) uint8, between the noise of two seeds
    gan_strip: np.ndarray  # (H, W) uint8: the frames
    note: str


def interpolate(dataset: str = "fashion", class_name: str | int | None = None, picture_a: int = 0,
                picture_b: int = 25, seed_a: int = 0, seed_b: int = 1) -> Interpolation:
    """FRAMES pictures of one class: VAE between gallery pictures a and b, GAN between seeds a and b."""
    info = dataset_info(dataset)
    label = class_choice(info.key, class_name)
    gallery, _ = load_gallery(info.key)
    a = whole_number(picture_a, "Picture a", 0, len(gallery) - 1)
    b = whole_number(picture_b, "Picture b", 0, len(gallery) - 1)
    seeds = (check_seed(seed_a), check_seed(seed_b))
    ts = torch.linspace(0, 1, FRAMES, dtype=torch.float64)[:, None]  # (FRAMES, 1)
    y = torch.full((FRAMES,), label, dtype=torch.long)  # (FRAMES,)
    code_a, code_b = one_shot.vae_gallery_codes(info.key)[[a, b]]  # each (D,)
    vae = to_uint8(one_shot.vae_decode(info.key, (1 - ts) * code_a + ts * code_b, y))  # (FRAMES, 28, 28)
    noise_a, noise_b = one_shot.noise_for_seeds(seeds, one_shot.noise_dim(info.key, "gan")).double()  # each (D,)
    gan = to_uint8(one_shot.sample(info.key, "gan", _slerp(noise_a, noise_b, ts), y))  # (FRAMES, 28, 28)
    labels = [f"{t:.2f}" for t in ts[:, 0].tolist()]
    return Interpolation(
        vae_frames=vae,
        vae_strip=headroom(plots.strip([gallery[a], *vae, gallery[b]], labels=[f"#{a}", *labels, f"#{b}"], size=TILE)),
        gan_frames=gan, gan_strip=headroom(plots.strip(gan, labels=labels, size=TILE)),
        note=(f"VAE: real picture #{a} → #{b}, decoded as {prompts.with_article(info.class_names[label])}. "
              f"GAN: seed {seeds[0]} → seed {seeds[1]}. Close codes give close pictures."),
    )


def _slerp(a: torch.Tensor, b: torch.Tensor, ts: torch.Tensor) -> torch.Tensor:
    """Spherical interpolation of two noise vectors (D,) at ``ts`` (K, 1) → (K, D).

    Every frame keeps the length typical of N(0, I) noise; a straight line would pass through shorter,
    untypical vectors in the middle.
    """
    cos = torch.dot(a / a.norm(), b / b.norm()).clamp(-1, 1)
    omega = torch.arccos(cos)
    if omega < 1e-6:
        return (1 - ts) * a + ts * b
    return (torch.sin((1 - ts) * omega) * a + torch.sin(ts * omega) * b) / torch.sin(omega)
