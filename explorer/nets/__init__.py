"""The networks, and the one place that builds a network from its config dict.

Owns: the mapping from an architecture name in a checkpoint's config to the class that builds it.
Does not know: schedules, training, files, the UI.
"""

from __future__ import annotations

from torch import nn


def build_network(architecture: dict) -> nn.Module:
    """``{"type": "unet", ...config fields}`` → a freshly initialised network of that shape."""
    fields = {k: v for k, v in architecture.items() if k != "type"}
    kind = architecture.get("type")
    if kind == "unet":
        from explorer.nets.unet import UNet, UNetConfig
        return UNet(UNetConfig.from_dict(fields))
    if kind == "judge":
        from explorer.nets.judge import Judge, JudgeConfig
        return Judge(JudgeConfig(**fields))
    if kind == "vae":
        from explorer.nets.vae import VAE, VAEConfig
        return VAE(VAEConfig(**fields))
    if kind == "gan":
        from explorer.nets.gan import GAN, GANConfig
        return GAN(GANConfig(**fields))
    raise ValueError(f"Unknown architecture type {kind!r}; known: unet, judge, vae, gan.")
