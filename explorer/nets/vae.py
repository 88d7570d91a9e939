"""The class-conditional convolutional variational autoencoder for 28×28 grey images.

Owns: the architecture, built entirely from a plain ``VAEConfig``: a strided-conv encoder that sees
the image and a class embedding and returns the Gaussian posterior (mu, log-variance), and a decoder
that turns a latent code and a class embedding into per-pixel Bernoulli logits through two
transposed-conv upsamplings (7 → 14 → 28 px), and a learned Gaussian prior p(z | y) per class (mean and
log-variance), so that a code drawn for class y lies where the encoder puts pictures of class y.
``decode`` returns the Bernoulli mean mapped to [-1, 1].
Does not know: the loss, KL warm-up, sampling from the prior, training, the UI.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import torch
from torch import nn


@dataclass(frozen=True)
class VAEConfig:
    num_classes: int = 10
    latent_dim: int = 16
    class_dim: int = 16  # width of the class embedding given to encoder and decoder
    hidden_dim: int = 256  # the fully connected layer between the conv maps and the latent
    encoder_widths: list[int] = field(default_factory=lambda: [32, 64])  # channels at 14, 7 px
    decoder_widths: list[int] = field(default_factory=lambda: [64, 64, 32])  # channels at 7, 14, 28 px

    def to_dict(self) -> dict:
        return asdict(self)


class VAE(nn.Module):
    """encode: (x (B,1,28,28), y (B,)) → mu, logvar (B, latent_dim); decode: (z, y) → (B,1,28,28)."""

    def __init__(self, config: VAEConfig):
        super().__init__()
        self.config = config
        self.latent_dim = config.latent_dim
        e14, e7 = config.encoder_widths
        d7, d14, d28 = config.decoder_widths
        self.class_emb = nn.Embedding(config.num_classes, config.class_dim)
        self.prior_mu = nn.Embedding(config.num_classes, config.latent_dim)
        self.prior_logvar = nn.Embedding(config.num_classes, config.latent_dim)
        nn.init.zeros_(self.prior_mu.weight)
        nn.init.zeros_(self.prior_logvar.weight)  # starts as N(0, I) for every class
        self.encoder_convs = nn.Sequential(
            nn.Conv2d(1, e14, 4, stride=2, padding=1), nn.SiLU(),  # (B, e14, 14, 14)
            nn.Conv2d(e14, e7, 4, stride=2, padding=1), nn.SiLU(),  # (B, e7, 7, 7)
            nn.Flatten())
        self.encoder_fc = nn.Sequential(nn.Linear(e7 * 49 + config.class_dim, config.hidden_dim), nn.SiLU(),
                                        nn.Linear(config.hidden_dim, 2 * config.latent_dim))
        self.decoder_fc = nn.Sequential(nn.Linear(config.latent_dim + config.class_dim, config.hidden_dim), nn.SiLU(),
                                        nn.Linear(config.hidden_dim, d7 * 49), nn.SiLU())
        self.decoder_convs = nn.Sequential(
            nn.ConvTranspose2d(d7, d14, 4, stride=2, padding=1), nn.SiLU(),  # (B, d14, 14, 14)
            nn.ConvTranspose2d(d14, d28, 4, stride=2, padding=1), nn.SiLU(),  # (B, d28, 28, 28)
            nn.Conv2d(d28, 1, 3, padding=1))  # (B, 1, 28, 28) logits

    def encode(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Posterior q(z | x, y): mu and log-variance, each (B, latent_dim)."""
        h = torch.cat([self.encoder_convs(x), self.class_emb(y)], dim=1)  # (B, e7·49 + class_dim)
        mu, logvar = self.encoder_fc(h).chunk(2, dim=1)
        return mu, logvar

    def prior(self, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Prior p(z | y): mean and log-variance, each (B, latent_dim)."""
        return self.prior_mu(y), self.prior_logvar(y)

    def code_from_noise(self, eps: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """A draw from p(z | y) made from standard-normal ``eps`` (B, latent_dim): mean + std · eps."""
        mu, logvar = self.prior(y)
        return mu + torch.exp(0.5 * logvar) * eps

    def decode_logits(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Per-pixel Bernoulli logits of the [0, 1]-rescaled image: (B, 1, 28, 28)."""
        h = self.decoder_fc(torch.cat([z, self.class_emb(y)], dim=1))  # (B, d7·49)
        return self.decoder_convs(h.view(-1, self.config.decoder_widths[0], 7, 7))

    def decode(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """The decoded image in [-1, 1]: 2·sigmoid(logits) − 1 = tanh(logits / 2).  (B, 1, 28, 28)."""
        return torch.tanh(0.5 * self.decode_logits(z, y))

    # The one-shot interface the VAE shares with the GAN: random numbers in, one pass, a picture out.
    @property
    def noise_dim(self) -> int:
        """How many standard-normal numbers one picture starts from (the code's size)."""
        return self.latent_dim

    @property
    def one_pass(self) -> nn.Module:
        """The layer that runs exactly once per picture (to count network passes)."""
        return self.decoder_fc

    def sample(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Standard-normal ``z`` (B, noise_dim), classes (B,) → images (B, 1, 28, 28): decode a code from p(z | y)."""
        return self.decode(self.code_from_noise(z, y), y)
