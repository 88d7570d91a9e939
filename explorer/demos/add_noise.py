"""The "Add noise" demo: the forward process, shown on one real, uploaded or drawn image.

Owns: the step convention of the app's noise slider (t = k means "after k noising steps":
t = 0 is the clean image, t = k ≥ 1 is schedule index k − 1, t = 1000 is pure noise), checking
every argument, and ``add_noise``, which returns the noisy image, the noise that was added, a
strip over t, the schedule and histogram figures, the signal/noise numbers, and the comparison
"one closed-form jump vs t small steps".
Does not know: models, the UI. It learns nothing: the forward process is only a formula.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import plotly.graph_objects as go
import torch

from explorer import plots
from explorer.checks import MAX_SEED, whole_number
from explorer.data import IMAGE_SIZE, dataset_info, load_gallery, to_model_range, to_uint8
from explorer.schedules import NUM_TIMESTEPS, SCHEDULE_NAMES, Schedule, make_schedule, q_sample, q_step

MAX_STEPS = NUM_TIMESTEPS  # the slider runs 0 … 1000
DEFAULT_STEPS = 250
STRIP_STEPS = tuple(round(k) for k in np.linspace(0, MAX_STEPS, 8))  # 0, 143, …, 1000
TILE = 84  # strip tiles, px


@dataclass(frozen=True)
class NoiseStats:
    """Numbers over the 784 pixels of one noisy image."""

    mean: float  # of x_t itself
    std: float
    noise_mean: float | None  # of the standardised noise (x_t − √ᾱ·x0) / √(1−ᾱ); None at t = 0
    noise_std: float | None


@dataclass(frozen=True)
class NoisingResult:
    steps: int  # t: noising steps done (0 = clean)
    schedule: str
    picture: str  # what x0 is: "real picture #12 (Sneaker)" or "your picture"
    x0: np.ndarray  # (28, 28) uint8, the clean image
    x_t: np.ndarray  # (28, 28) uint8, after one closed-form jump to t
    x_t_values: np.ndarray  # (28, 28) float32, the same in model range (not clipped)
    noise: np.ndarray  # (28, 28) uint8, the added √(1−ᾱ)·ε on the picture's scale (−1 black … 1 white), mid-grey = 0
    strip: np.ndarray  # (H, W) uint8, x_t at STRIP_STEPS with the same noise, labelled
    strip_steps: tuple[int, ...]
    schedule_figure: go.Figure
    histogram_figure: go.Figure
    signal_level: float  # √ᾱ_t
    noise_level: float  # √(1−ᾱ_t)
    snr: float  # ᾱ_t / (1−ᾱ_t); inf at t = 0
    stepped: np.ndarray  # (28, 28) uint8, after t calls of q_step with other noise
    comparison: np.ndarray  # (H, W) uint8, jump | stepped, labelled
    jump_stats: NoiseStats
    stepped_stats: NoiseStats


def add_noise(dataset: str = "fashion", gallery_index: int = 0, image: np.ndarray | None = None,
              t: int = DEFAULT_STEPS, schedule: str = "cosine", seed: int = 0) -> NoisingResult:
    """Noise one image to step ``t`` and explain it. ``image`` (28, 28) uint8 overrides the gallery.

    One ``torch.Generator`` seeded with ``seed`` draws, in order, the noise ε of the jump (also
    used by the strip) and then the t noises of the small steps: same arguments, same pictures.
    """
    info = dataset_info(dataset)
    steps = whole_number(t, "k", 0, MAX_STEPS, "noising steps: 0 is the clean image, 1000 pure noise")
    seed = whole_number(seed, "The seed", 0, MAX_SEED, "any seed gives different noise")
    sched = _schedule(schedule)
    if image is None:
        x0_uint8, picture = _gallery_image(info.key, gallery_index)
    else:
        x0_uint8, picture = _user_image(image), "your picture"

    x0 = to_model_range(x0_uint8[None])  # (1, 1, 28, 28) in [-1, 1]
    gen = torch.Generator().manual_seed(seed)
    eps = torch.randn(x0.shape, generator=gen)  # (1, 1, 28, 28)
    x_t = _jump(sched, x0, steps, eps)  # (1, 1, 28, 28)
    stepped = _small_steps(sched, x0, steps, gen)  # (1, 1, 28, 28)
    signal, noise = _levels(sched, steps)
    x_t_uint8, stepped_uint8 = to_uint8(x_t)[0], to_uint8(stepped)[0]  # (28, 28) each

    return NoisingResult(
        steps=steps,
        schedule=sched.name,
        picture=picture,
        x0=x0_uint8,
        x_t=x_t_uint8,
        x_t_values=x_t[0, 0].numpy(),
        noise=to_uint8(noise * eps)[0],  # on the picture's own scale: at k = 1000 it is the picture
        strip=_strip(sched, x0, eps),
        strip_steps=STRIP_STEPS,
        schedule_figure=plots.picture_left_figure(sched, steps),
        histogram_figure=_histogram(x_t, steps),
        signal_level=signal,
        noise_level=noise,
        snr=signal ** 2 / noise ** 2 if noise > 0 else math.inf,
        stepped=stepped_uint8,
        comparison=plots.strip([x_t_uint8, stepped_uint8],
                               labels=["one jump", f"{steps} small steps"], size=3 * TILE),
        jump_stats=_stats(x_t, x0, signal, noise),
        stepped_stats=_stats(stepped, x0, signal, noise),
    )


# ----------------------------------------------------------------------------- the maths

def _histogram(x_t: torch.Tensor, steps: int) -> go.Figure:
    """The pixel values of x_t (1, 1, 28, 28) against the bell curve of pure static N(0, 1), in words."""
    figure = plots.histogram_figure(x_t.numpy(), title=f"Pixel values at k = {steps}, against pure static")
    figure.update_traces(selector=dict(type="histogram"), name="pixels of the noisy picture")
    figure.update_traces(selector=dict(type="scatter"), name="pure static (bell curve)")
    figure.update_xaxes(title_text="pixel value (−1 black … 1 white)")
    figure.update_yaxes(title_text="how common")
    return figure


@lru_cache(maxsize=len(SCHEDULE_NAMES))
def _cached_schedule(name: str) -> Schedule:
    return make_schedule(name)


def _schedule(name) -> Schedule:
    """The schedule called ``name``, built once per process."""
    if name not in SCHEDULE_NAMES:
        raise ValueError(f"Unknown schedule {name!r}. Choose one of: {', '.join(SCHEDULE_NAMES)}.")
    return _cached_schedule(name)


def _levels(sched: Schedule, steps: int) -> tuple[float, float]:
    """(√ᾱ, √(1−ᾱ)) after ``steps`` noising steps; (1, 0) for the clean image."""
    alpha_bar = 1.0 if steps == 0 else float(sched.alpha_bar[steps - 1])
    return math.sqrt(alpha_bar), math.sqrt(1.0 - alpha_bar)


def _jump(sched: Schedule, x0: torch.Tensor, steps: int, eps: torch.Tensor) -> torch.Tensor:
    """x0, eps (1, 1, 28, 28) → x_t in one closed-form jump (``q_sample``); x0 itself at t = 0."""
    if steps == 0:
        return x0.clone()
    return q_sample(sched, x0, torch.tensor([steps - 1]), eps)


def _small_steps(sched: Schedule, x0: torch.Tensor, steps: int, gen: torch.Generator) -> torch.Tensor:
    """x0 (1, 1, 28, 28) → x_t by ``steps`` calls of ``q_step``, each with fresh noise from ``gen``."""
    noises = torch.randn((steps, *x0.shape), generator=gen)  # (t, 1, 1, 28, 28)
    x = x0
    for index in range(steps):
        x = q_step(sched, x, index, noises[index])
    return x


def _strip(sched: Schedule, x0: torch.Tensor, eps: torch.Tensor) -> np.ndarray:
    """x0 at every step of STRIP_STEPS, all with the same noise ε, as one labelled uint8 row."""
    frames = [to_uint8(_jump(sched, x0, k, eps))[0] for k in STRIP_STEPS]  # each (28, 28)
    return plots.strip(frames, labels=[f"k={k}" for k in STRIP_STEPS], size=TILE)


def _stats(x_t: torch.Tensor, x0: torch.Tensor, signal: float, noise: float) -> NoiseStats:
    """Mean/std of x_t (1, 1, 28, 28) and of its standardised noise (x_t − √ᾱ·x0) / √(1−ᾱ)."""
    if noise == 0:
        return NoiseStats(float(x_t.mean()), float(x_t.std()), None, None)
    z = (x_t - signal * x0) / noise
    return NoiseStats(float(x_t.mean()), float(x_t.std()), float(z.mean()), float(z.std()))


# ----------------------------------------------------------------------------- checking arguments

@dataclass(frozen=True)
class CleanPicture:
    """The picture a noising request starts from."""

    image: np.ndarray  # (28, 28) uint8, 0 = black
    description: str  # "real picture #12 (Sneaker)" or "your picture"
    label: int | None  # its class for a gallery picture; None for an upload or a drawing


def clean_picture(dataset: str = "fashion", gallery_index: int = 0, image: np.ndarray | None = None) -> CleanPicture:
    """The gallery picture ``gallery_index`` of ``dataset``, or ``image`` (28, 28) when given: checked."""
    info = dataset_info(dataset)
    if image is not None:
        return CleanPicture(_user_image(image), "your picture", None)
    pixels, description = _gallery_image(info.key, gallery_index)
    index = int(gallery_index)  # checked by _gallery_image
    return CleanPicture(pixels, description, int(_gallery(info.key)[1][index]))


@lru_cache(maxsize=4)
def _gallery(key: str) -> tuple[np.ndarray, np.ndarray]:
    images, labels = load_gallery(key)  # (N, 28, 28) uint8, (N,) int64
    images.setflags(write=False)
    return images, labels


def _gallery_image(key: str, index) -> tuple[np.ndarray, str]:
    """Image number ``index`` of the shipped gallery of dataset ``key``: (28, 28) uint8, and its name."""
    images, labels = _gallery(key)
    info = dataset_info(key)
    n = images.shape[0]
    index = whole_number(index, "The gallery image number", 0, n - 1, f"{info.title} has {n} real images")
    return images[index].copy(), f"real picture #{index} ({info.class_names[labels[index]]})"


def _user_image(image) -> np.ndarray:
    """An uploaded/drawn image already converted by explorer.uploads: (28, 28) uint8."""
    image = np.asarray(image)
    if image.shape != (IMAGE_SIZE, IMAGE_SIZE):
        raise ValueError(f"The image must be {IMAGE_SIZE}×{IMAGE_SIZE} grey pixels (convert it with "
                         f"explorer.uploads.to_training_style); got shape {image.shape}.")
    if image.dtype.kind not in "biuf":
        raise ValueError(f"The image must hold numbers, not {image.dtype}.")
    if image.dtype != np.uint8:
        if not np.isfinite(image).all() or image.min() < 0 or image.max() > 255:
            raise ValueError("The image's pixels must be whole numbers from 0 (black) to 255 (white).")
        image = image.round().astype(np.uint8)
    return image
