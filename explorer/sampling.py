"""Making images with a shipped model: the app's default settings, seeded starting static, and runs.

Owns: ``SamplingSettings`` (the defaults every entry point shares, and their validation), turning a
seed into starting static (one ``torch.Generator``; the global seed is never touched), building the
guided ``model_fn`` of a shipped denoiser, and the one-shot decoders of the VAE and the GAN.
Does not know: the UI, plots, metrics.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Iterator

import torch

from explorer import registry
from explorer.data import class_index, dataset_info
from explorer.guidance import ModelFn, check_guidance, make_model_fn
from explorer.samplers import Step, check_eta, check_sampler, check_steps, sample_steps
from explorer.schedules import make_schedule

MAX_SEED = 2 ** 63 - 1
IMAGE_SHAPE = (1, 28, 28)


@dataclass(frozen=True)
class SamplingSettings:
    """The app's defaults (chosen from measurements: see the diffusion model cards)."""

    sampler: str = "dpm++"
    steps: int = 20
    guidance: float = 3.0
    eta: float = 0.0
    guidance_interval: tuple[int, int] | None = None  # s > 1 only for t in [lo, hi]; None = the model's own
    clip_x0: bool = True

    def validated(self) -> "SamplingSettings":
        schedule = make_schedule("cosine")
        return replace(self, sampler=check_sampler(self.sampler), steps=check_steps(self.steps, schedule),
                       guidance=check_guidance(self.guidance), eta=check_eta(self.eta))


DEFAULTS = SamplingSettings()


def check_seed(seed) -> int:
    """A whole number in 0 … 2⁶³−1 (what a torch.Generator accepts), else a ValueError."""
    message = f"Seed must be a whole number from 0 to {MAX_SEED}, got {seed!r}."
    if isinstance(seed, float) and not seed.is_integer():
        raise ValueError(message)
    try:
        value = int(seed)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(message) from None
    if not 0 <= value <= MAX_SEED:
        raise ValueError(message)
    return value


def labels_tensor(dataset: str, labels, device: torch.device) -> torch.Tensor | None:
    """Class ids or names → (B,) long on ``device``; None stays None (unconditional)."""
    if labels is None:
        return None
    info = dataset_info(dataset)
    return torch.tensor([class_index(info, label) for label in labels], dtype=torch.long, device=device)


def starting_static(seed: int, batch: int, device: torch.device) -> tuple[torch.Tensor, torch.Generator]:
    """x_T (B, 1, 28, 28) ~ N(0, I) from ``seed``, and the generator (on ``device``) for later draws."""
    gen = torch.Generator(device="cpu").manual_seed(check_seed(seed))
    x_T = torch.randn((batch, *IMAGE_SHAPE), generator=gen).to(device)
    later = torch.Generator(device=device).manual_seed(check_seed(seed) ^ 0x5EED)
    return x_T, later


def guidance_interval(config: dict, settings: SamplingSettings) -> tuple[int, int] | None:
    """The settings' interval, else the one measured best for this model (its config), else none."""
    if settings.guidance_interval is not None:
        return tuple(settings.guidance_interval)
    measured = config.get("sampling", {}).get("guidance_interval")
    return tuple(measured) if measured else None


def diffusion_model_fn(dataset: str, labels: torch.Tensor | None, settings: SamplingSettings,
                       keep_branches: bool = False) -> tuple[ModelFn, "registry.LoadedModel"]:
    loaded = registry.get(dataset, "diffusion")
    cfg = loaded.config
    schedule = make_schedule(cfg["schedule"]["name"], cfg["schedule"]["num_timesteps"])
    fn = make_model_fn(loaded.network, schedule, cfg["prediction"], labels, settings.guidance,
                       null_class=cfg["architecture"]["num_classes"], interval=guidance_interval(cfg, settings),
                       keep_branches=keep_branches)
    return fn, loaded


def diffusion_steps(dataset: str, labels, seed: int, settings: SamplingSettings = DEFAULTS,
                    batch: int | None = None, keep_branches: bool = False) -> Iterator[Step]:
    """Reverse-diffusion steps for ``labels`` (list of class ids/names; None = unconditional)."""
    settings = settings.validated()
    device = registry.compute_device()
    y = labels_tensor(dataset, labels, device)
    n = len(y) if y is not None else (batch or 1)
    model_fn, loaded = diffusion_model_fn(dataset, y, settings, keep_branches)
    cfg = loaded.config
    schedule = make_schedule(cfg["schedule"]["name"], cfg["schedule"]["num_timesteps"])
    x_T, gen = starting_static(seed, n, device)
    return sample_steps(model_fn, schedule, x_T, sampler=settings.sampler, steps=settings.steps,
                        eta=settings.eta, generator=gen, clip_x0=settings.clip_x0)


def diffusion_images(dataset: str, labels, seed: int, settings: SamplingSettings = DEFAULTS,
                     batch: int | None = None) -> torch.Tensor:
    """Final images (B, 1, 28, 28) in [-1, 1]."""
    last = None
    for last in diffusion_steps(dataset, labels, seed, settings, batch):
        pass
    return last.x_next.clamp(-1, 1)


def one_shot_images(dataset: str, family: str, labels, seed: int) -> torch.Tensor:
    """VAE (decode a code drawn from its class prior) or GAN (generate from z ~ N(0, I)): (B, 1, 28, 28)."""
    loaded = registry.get(dataset, family)
    device = loaded.device
    y = labels_tensor(dataset, labels, device)
    net = loaded.network
    dim = net.latent_dim if family == "vae" else net.noise_dim
    gen = torch.Generator(device="cpu").manual_seed(check_seed(seed))
    z = torch.randn((len(y), dim), generator=gen).to(device)  # (B, dim) standard normal
    with torch.inference_mode():
        out = one_shot_pass(net, family, z, y)
    return out.float().clamp(-1, 1)


def one_shot_pass(net, family: str, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The one network pass from standard-normal ``z`` (B, dim) and classes ``y`` (B,) to images (B, 1, 28, 28):
    the VAE decodes a code drawn from its class prior, the GAN's generator takes ``z`` as it is."""
    return net.decode(net.code_from_noise(z, y), y) if family == "vae" else net.generate(z, y)


def images(dataset: str, family: str, labels, seed: int, settings: SamplingSettings = DEFAULTS) -> torch.Tensor:
    """Any family's images for ``labels``: (B, 1, 28, 28) in [-1, 1]."""
    if family == "diffusion":
        return diffusion_images(dataset, labels, seed, settings)
    if family in ("vae", "gan"):
        return one_shot_images(dataset, family, labels, seed)
    raise ValueError(f"Family {family!r} does not make images; use diffusion, vae or gan.")
