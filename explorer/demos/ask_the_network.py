"""The "Ask the network" demo on the Add-noise tab: the network's training task, live, on one picture.

Owns: ``ask_the_network`` — noise one picture (gallery, upload or drawing) to step t with a seeded noise
ε, give the noisy picture to the shipped denoiser (told the picture's class, or told nothing for a
student's own picture) and compare its guess of the noise with ε, and the clean picture worked out from
that guess with the real one — and the chart of that error against t for the picture (one batched
network call over ``CHART_STEPS``, once per picture and seed). Both are kept in bounded caches.
The noise is drawn exactly as ``explorer.demos.add_noise`` draws the noise of its one jump (the first
draw of a generator seeded with ``seed``), so with the cosine schedule the noisy picture is the one the
tab shows above.
Does not know: the UI, the network (explorer.denoiser's ``Denoiser.model_fn`` and ``Denoiser.guesses`` ask it).
The picture checks are explorer.demos.add_noise's; the noise is always added with the schedule the network was
trained with.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import plotly.graph_objects as go
import torch

from explorer import denoiser, plots
from explorer.checks import MAX_SEED, NOISE_DISPLAY_SCALE, whole_number
from explorer.data import dataset_info, to_model_range, to_uint8
from explorer.demos import add_noise
from explorer.demos.cache import LRUCache
from explorer.schedules import NUM_TIMESTEPS, q_sample

DEFAULT_STEPS = add_noise.DEFAULT_STEPS
CHART_STEPS = (1, *range(50, NUM_TIMESTEPS + 1, 50))  # the t of the error chart: 21 points, one network call
TILE = 168  # px of each picture in the two strips
DIFFERENCE_GAIN = 3  # the difference picture is brightened this many times to be visible
PIXEL_SCALE = 127.5  # model range [-1, 1] → 0 … 255: an error of 1 in model range is 127.5 grey levels
CACHE_SIZE = 256  # answers kept (each ~30 kB)
CHART_CACHE_SIZE = 64  # charts kept, one per picture, class and seed


@dataclass(frozen=True, eq=False)
class AskResult:
    """One question to the network. Pictures (28, 28) uint8; the noise pictures show ε/3 around mid-grey."""

    steps: int  # t: noising steps done (1 … 1000); the network is asked at schedule timestep t − 1
    seed: int
    schedule: str  # the noise schedule the network was trained with, used here
    picture: str  # "real picture #12 (Sneaker)" or "your picture"
    label: int | None  # the class the network was told; None = told nothing
    told: str  # in words: "told the class: Sneaker" / "told nothing (no class)"
    x0: np.ndarray  # the real clean picture
    x_t: np.ndarray  # the noisy picture the network was shown
    noise: np.ndarray  # the noise we added, ε
    x0_guess: np.ndarray  # the clean picture worked out from the guess
    noise_strip: np.ndarray  # (H, W) uint8: added ε | the network's guess ε̂ | (ε̂ − ε) × DIFFERENCE_GAIN, labelled
    picture_strip: np.ndarray  # (H, W) uint8: noisy | worked out from the guess | real, labelled
    noise_error: float  # root-mean-square of ε̂ − ε over the 784 pixels (ε itself is about 1 per pixel)
    picture_error: float  # mean absolute pixel error of the worked-out picture, in grey levels (0 … 255)
    chart_steps: np.ndarray  # (K,) int, CHART_STEPS
    chart_errors: np.ndarray  # (K,) float, picture_error at each of them (same picture, same ε)
    error_figure: go.Figure
    cached: bool  # True when this came from the cache without running the network


def ask_the_network(dataset: str = "fashion", gallery_index: int = 0, image: np.ndarray | None = None,
                    t: int = DEFAULT_STEPS, seed: int = 0) -> AskResult:
    """Noise the picture to step ``t`` with the seed's ε and ask the network what noise it sees.

    ``image`` (28, 28) uint8 (an upload or a drawing) overrides the gallery picture; the network is then
    told nothing, since its class is unknown. A gallery picture's class is told.
    """
    info = dataset_info(dataset)
    steps = whole_number(t, "k", 1, NUM_TIMESTEPS,
                         "noising steps; at t = 0 no noise was added, so there is nothing to guess")
    seed = whole_number(seed, "The seed", 0, MAX_SEED, "any seed gives different noise")
    clean = add_noise.clean_picture(info.key, gallery_index, image)
    key = (info.key, clean.image.tobytes(), clean.label, steps, seed)
    result = _CACHE.get(key)
    if result is None:
        result = _ask(info.key, clean, steps, seed)
        _CACHE.put(key, replace(result, cached=True))
    return result


_CACHE: LRUCache[tuple, AskResult] = LRUCache(CACHE_SIZE)
_CHARTS: LRUCache[tuple, np.ndarray] = LRUCache(CHART_CACHE_SIZE)


def added_noise(seed: int) -> torch.Tensor:
    """ε (1, 1, 28, 28): the first draw of a generator seeded with ``seed``, as the Add-noise tab draws it."""
    return torch.randn((1, 1, 28, 28), generator=torch.Generator().manual_seed(seed))


# ----------------------------------------------------------------------------- the question

def _ask(dataset: str, clean: add_noise.CleanPicture, steps: int, seed: int) -> AskResult:
    den = denoiser.get(dataset)
    x0 = to_model_range(clean.image[None])  # (1, 1, 28, 28) in [-1, 1]
    eps = added_noise(seed)  # (1, 1, 28, 28)
    x_t = q_sample(den.schedule, x0, torch.tensor([steps - 1]), eps).float()  # (1, 1, 28, 28)
    labels = None if clean.label is None else torch.tensor([clean.label], device=den.device)  # (1,)
    guess = den.model_fn(labels, 1.0)(x_t.to(den.device), steps - 1)  # s = 1: one network call, one branch
    eps_guess, x0_guess = guess.eps.float().cpu(), guess.x0.float().cpu().clamp(-1, 1)  # (1, 1, 28, 28) each
    picture_error = _pixel_errors(x0_guess, x0)[0]
    chart = _chart_errors(dataset, clean, seed)  # (K,)
    name = None if clean.label is None else dataset_info(dataset).class_names[clean.label]
    pictures = _pictures(x0, x_t, eps, eps_guess, x0_guess)
    guessed_noise = [pictures["noise"], pictures.pop("guess"), pictures.pop("difference")]  # shown in the strip
    return AskResult(
        steps=steps, seed=seed, schedule=den.schedule.name, picture=clean.description, label=clean.label,
        told="told nothing (no class)" if name is None else f"told the class: {name}",
        **pictures,
        noise_strip=plots.strip(guessed_noise,
                                labels=["noise we added", "network's guess", f"difference (x{DIFFERENCE_GAIN})"],
                                size=TILE),
        picture_strip=plots.strip([pictures["x_t"], pictures["x0_guess"], pictures["x0"]],
                                  labels=["what it was shown", "from its guess", "the real one"], size=TILE),
        noise_error=float((eps_guess - eps).pow(2).mean().sqrt()),
        picture_error=float(picture_error),
        chart_steps=np.array(CHART_STEPS), chart_errors=chart,
        error_figure=plots.error_by_t_figure(np.array(CHART_STEPS), chart, steps, float(picture_error)),
        cached=False,
    )


def _pictures(x0, x_t, eps, eps_guess, x0_guess) -> dict[str, np.ndarray]:
    """The tensors (1, 1, 28, 28) of one question → read-only uint8 (28, 28) pictures."""
    pictures = dict(x0=to_uint8(x0)[0], x_t=to_uint8(x_t)[0], noise=_noise_picture(eps),
                    guess=_noise_picture(eps_guess), difference=_noise_picture(DIFFERENCE_GAIN * (eps_guess - eps)),
                    x0_guess=to_uint8(x0_guess)[0])
    for picture in pictures.values():
        picture.setflags(write=False)  # shared through the cache
    return pictures


def _noise_picture(eps: torch.Tensor) -> np.ndarray:
    """Noise (1, 1, 28, 28), about N(0, 1) → uint8 (28, 28), mid-grey = 0."""
    return to_uint8(eps / NOISE_DISPLAY_SCALE)[0]


def _pixel_errors(x0_guess: torch.Tensor, x0: torch.Tensor) -> np.ndarray:
    """Mean absolute difference per picture, (K, 1, 28, 28) vs (1, 1, 28, 28) → (K,) in grey levels."""
    return ((x0_guess - x0).abs().mean(dim=(1, 2, 3)) * PIXEL_SCALE).double().numpy()


# ----------------------------------------------------------------------------- the chart

def _chart_errors(dataset: str, clean: add_noise.CleanPicture, seed: int) -> np.ndarray:
    """The picture error at every t of CHART_STEPS (K,), from one batched network call; cached per picture."""
    key = (dataset, clean.image.tobytes(), clean.label, seed)
    errors = _CHARTS.get(key)
    if errors is None:
        errors = _errors_at(dataset, clean, seed)
        errors.setflags(write=False)
        _CHARTS.put(key, errors)
    return errors


def _errors_at(dataset: str, clean: add_noise.CleanPicture, seed: int) -> np.ndarray:
    """Noise the picture to every t of CHART_STEPS with the same ε and ask the network about all at once."""
    den = denoiser.get(dataset)
    x0 = to_model_range(clean.image[None])  # (1, 1, 28, 28)
    index = torch.tensor(CHART_STEPS) - 1  # (K,) schedule timesteps
    x_t = q_sample(den.schedule, x0.expand(len(CHART_STEPS), -1, -1, -1), index,
                   added_noise(seed).expand(len(CHART_STEPS), -1, -1, -1)).float()  # (K, 1, 28, 28)
    labels = None if clean.label is None else torch.full((len(CHART_STEPS),), clean.label)  # (K,): told the class
    x0_guess, _ = den.guesses(x_t, index, labels)  # (K, 1, 28, 28)
    return _pixel_errors(x0_guess.float().cpu().clamp(-1, 1), x0)
