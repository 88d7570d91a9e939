"""Training recipe of the class-conditional GAN.

Owns: the GAN's size, the hinge losses, one discriminator step then one generator step per batch
(fake images use the real batch's labels, so every class is trained in proportion), the
mode-seeking term that stops the generator from ignoring its noise (one picture per class), and the
two Adam optimisers. The discriminator is frozen during the generator step so only the generator's
gradients are computed.
Does not know: sampling, files, time budgets, EMA (the saved EMA generator is the one to sample).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from explorer.data import DatasetInfo
from explorer.nets.gan import GAN, GANConfig

NOISE_DIM = 64
LEARNING_RATE = 2e-4
BETAS = (0.5, 0.999)
MODE_SEEKING_WEIGHT = 0.2


def mode_seeking(fake: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """Image distance per noise distance (Mao et al. 2019, MSGAN) between the first and second half
    of a batch whose halves share their classes.  fake (B, 1, 28, 28), z (B, noise_dim) → scalar."""
    half = fake.shape[0] // 2
    image_gap = (fake[:half] - fake[half:2 * half]).abs().mean()
    noise_gap = (z[:half] - z[half:2 * half]).abs().mean()
    return image_gap / noise_gap


class GANRecipe:
    family = "gan"
    batch_size = 64
    default_minutes = 8.0
    ema_decay = 0.999
    warmup_steps = 0  # Adam at a constant rate from the first step
    weights_dtype = "float32"

    def gan_config(self, info: DatasetInfo) -> GANConfig:
        return GANConfig(num_classes=info.num_classes, noise_dim=NOISE_DIM)

    def architecture(self, info: DatasetInfo) -> dict:
        return {"type": "gan", **self.gan_config(info).to_dict()}

    def build(self, info: DatasetInfo) -> nn.Module:
        return GAN(self.gan_config(info))

    def optimizers(self, model: nn.Module) -> list[torch.optim.Optimizer]:
        return [torch.optim.Adam(model.generator.parameters(), lr=LEARNING_RATE, betas=BETAS),
                torch.optim.Adam(model.discriminator.parameters(), lr=LEARNING_RATE, betas=BETAS)]

    def step(self, model, optimizers, x, y, gen, step):
        g_opt, d_opt = optimizers
        g, d = model.generator, model.discriminator
        b = x.shape[0]

        z = torch.randn(b, model.noise_dim, generator=gen, device=x.device)
        with torch.no_grad():
            fake = g(z, y)  # (B, 1, 28, 28)
        d_real, d_fake = d(torch.cat([x, fake]), torch.cat([y, y])).split(b)  # each (B,)
        d_loss = F.relu(1.0 - d_real).mean() + F.relu(1.0 + d_fake).mean()
        d_opt.zero_grad(set_to_none=True)
        d_loss.backward()
        d_opt.step()

        z = torch.randn(b, model.noise_dim, generator=gen, device=x.device)
        y_pairs = torch.cat([y[:b // 2], y[:b // 2]])  # image i and i + B/2 share a class
        fake = g(z, y_pairs)
        d.requires_grad_(False)
        adversarial = -d(fake, y_pairs).mean()
        seeking = mode_seeking(fake, z)
        g_loss = adversarial + MODE_SEEKING_WEIGHT / (seeking + 1e-5)
        g_opt.zero_grad(set_to_none=True)
        g_loss.backward()
        g_opt.step()
        d.requires_grad_(True)
        return {"d_loss": d_loss.item(), "g_loss": adversarial.item(), "mode_seeking": seeking.item(),
                "d_real": d_real.mean().item(), "d_fake": d_fake.mean().item()}

    def extra_config(self) -> dict:
        return {"noise_dim": NOISE_DIM}

    def training_notes(self) -> dict:
        return {"learning_rate": LEARNING_RATE, "adam_betas": list(BETAS), "ema_decay": self.ema_decay,
                "loss": "hinge (discriminator: relu(1 - D(real)) + relu(1 + D(fake)); generator: -D(fake)) "
                        f"+ {MODE_SEEKING_WEIGHT:g} / mode-seeking ratio (MSGAN); one D step per G step; "
                        "projection discriminator with spectral norm",
                "precision": "fp32"}

    def exportable(self, ema_model: nn.Module) -> nn.Module:
        return ema_model
