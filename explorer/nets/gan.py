"""The class-conditional GAN for 28×28 grey images: a generator and a projection discriminator.

Owns: both architectures, built entirely from a plain ``GANConfig``. The generator is DCGAN-shaped
(noise + class embedding → 7×7 map → two nearest-upsample + 3×3-conv stages → 28×28, tanh; resize
convs rather than transposed convs, which drew checkerboards here) with class-conditional GroupNorm
instead of BatchNorm, so it behaves the same in train and eval mode and its weights can be averaged
(EMA) safely. The discriminator is the projection discriminator of Miyato & Koyama (2018) with
spectral norm on every layer. Both travel in one checkpoint; only the generator is needed to sample.
Does not know: the losses, optimisers, training, sampling schedules, the UI.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm


@dataclass(frozen=True)
class GANConfig:
    num_classes: int = 10
    noise_dim: int = 64
    class_dim: int = 64  # width of the generator's input class embedding
    generator_widths: list[int] = field(default_factory=lambda: [128, 64, 32])  # channels at 7, 14, 28 px
    discriminator_widths: list[int] = field(default_factory=lambda: [64, 128])  # channels at 14, 7 px
    discriminator_features: int = 128  # the projected feature vector
    groups: int = 8  # GroupNorm groups in the generator

    def to_dict(self) -> dict:
        return asdict(self)


class ConditionalGroupNorm(nn.Module):
    """GroupNorm without its own affine, then a per-class scale and shift (starts as identity)."""

    def __init__(self, channels: int, groups: int, num_classes: int):
        super().__init__()
        self.norm = nn.GroupNorm(groups, channels, affine=False)
        self.affine = nn.Embedding(num_classes, 2 * channels)
        nn.init.zeros_(self.affine.weight)

    def forward(self, h: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        scale, shift = self.affine(y)[:, :, None, None].chunk(2, dim=1)  # each (B, C, 1, 1)
        return self.norm(h) * (1 + scale) + shift


class Generator(nn.Module):
    """(z (B, noise_dim), y (B,)) → images (B, 1, 28, 28) in [-1, 1]."""

    def __init__(self, config: GANConfig):
        super().__init__()
        self.config = config
        c7, c14, c28 = config.generator_widths
        self.class_emb = nn.Embedding(config.num_classes, config.class_dim)
        self.fc = nn.Linear(config.noise_dim + config.class_dim, c7 * 49)
        self.norms = nn.ModuleList(ConditionalGroupNorm(c, config.groups, config.num_classes) for c in (c7, c14, c28))
        self.ups = nn.ModuleList([nn.Conv2d(c7, c14, 3, padding=1), nn.Conv2d(c14, c28, 3, padding=1)])
        self.out = nn.Conv2d(c28, 1, 3, padding=1)

    def forward(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        h = self.fc(torch.cat([z, self.class_emb(y)], dim=1))
        h = h.view(-1, self.config.generator_widths[0], 7, 7)  # (B, c7, 7, 7)
        h = F.relu(self.norms[0](h, y))
        for up, norm in zip(self.ups, self.norms[1:]):
            h = F.relu(norm(up(F.interpolate(h, scale_factor=2.0, mode="nearest")), y))  # (B, c, 2H, 2W)
        return torch.tanh(self.out(h))  # (B, 1, 28, 28)


class Discriminator(nn.Module):
    """Projection discriminator: (x (B, 1, 28, 28), y (B,)) → realness scores (B,).

    The conv features are flattened, not pooled: at 7×7 px the receptive field is about 10 px, so a
    pooled score would judge only local texture, and the generator learns textures, not shapes."""

    def __init__(self, config: GANConfig):
        super().__init__()
        d14, d7 = config.discriminator_widths
        self.convs = nn.ModuleList([
            spectral_norm(nn.Conv2d(1, d14, 4, stride=2, padding=1)),  # (B, d14, 14, 14)
            spectral_norm(nn.Conv2d(d14, d7, 4, stride=2, padding=1))])  # (B, d7, 7, 7)
        self.fc = spectral_norm(nn.Linear(d7 * 49, config.discriminator_features))
        self.linear = spectral_norm(nn.Linear(config.discriminator_features, 1))
        self.class_proj = spectral_norm(nn.Embedding(config.num_classes, config.discriminator_features))

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        h = x
        for conv in self.convs:
            h = F.leaky_relu(conv(h), 0.2)
        h = h.flatten(1)  # (B, d7 · 49)
        h = F.leaky_relu(self.fc(h), 0.2)  # (B, F)
        return self.linear(h).squeeze(1) + (self.class_proj(y) * h).sum(dim=1)  # (B,)


class GAN(nn.Module):
    """Holds ``generator`` and ``discriminator``; ``sample`` (the generator) is all that sampling needs."""

    def __init__(self, config: GANConfig):
        super().__init__()
        self.config = config
        self.noise_dim = config.noise_dim
        self.generator = Generator(config)
        self.discriminator = Discriminator(config)

    # The one-shot interface the GAN shares with the VAE: random numbers in, one pass, a picture out.
    @property
    def one_pass(self) -> nn.Module:
        """The part that runs exactly once per picture (to count network passes)."""
        return self.generator

    def sample(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Noise (B, noise_dim) and classes (B,) → images (B, 1, 28, 28) in [-1, 1]."""
        return self.generator(z, y)
