"""The "Watch it learn" demo on the Add-noise tab: one noised picture and one starting static, shown to the
same small denoiser at several points of its training (untrained, after 5 %, 10 % and 100 % of the run: its loss
falls most between 4 % and 10 %, so those show the change best).

Owns: ``watch_it_learn`` — noise a shipped real Fashion picture to k steps with the seed's static (drawn as the
Add-noise tab draws it), ask every snapshot (explorer.denoiser.snapshot_stack: the small "fashion-learning" run,
not the shipped model; all snapshots in one network call) for its guess of that static, compare it with the real
static (the error per pixel) and work out the clean picture from it; and let every snapshot make a picture from
the same pure static (one seed, the app's default steps, told the picture's class) —, the grid of those pictures
(a column per snapshot, from untrained to trained, under its error; a row per kind of picture under its heading:
labels large enough for a phone, explorer.plots; a white band on top, under the image widget's buttons,
framing.headroom), and the chart of the training loss along the run with the snapshots marked. Results, and the
snapshots' pictures per class and seed (they do not depend on the noisy picture), are kept in bounded caches.
Untrained, the network answers 0 everywhere (its last layer starts at zero); read as a guess of the static that is
the noisy picture itself, faded: it cannot yet tell the picture from the static.
Does not know: the UI, how the snapshots were trained (explorer.train wrote them, with the loss along the run).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace

import numpy as np
import plotly.graph_objects as go
import torch

from explorer import denoiser, plots, registry
from explorer.checks import MAX_SEED, NOISE_DISPLAY_SCALE, whole_number
from explorer.data import to_model_range, to_uint8
from explorer.demos import add_noise
from explorer.demos.ask_the_network import added_noise
from explorer.demos.cache import LRUCache
from explorer.demos.framing import headroom
from explorer.sampling import SamplingSettings
from explorer.schedules import NUM_TIMESTEPS, q_sample

DATASET = "fashion"  # the learning run is of the Fashion model
DEFAULT_K = 300  # enough static to guess, the picture still visible: untrained 0.87 off, trained 0.31
TILE = 112  # px of a picture in the grid: 4 columns (460 px) whose labels a phone shows at 12 px or more
SHOWN_TILE = 168  # px of each picture in what every snapshot is shown
CACHE_SIZE = 64
PICTURES_CACHE_SIZE = 64  # the snapshots' pictures from pure static, per class and seed
KINDS = ("Its guess of the static", "Its guess - the real static (grey = no mistake)",
         "The clean picture worked out from its guess", "Its own picture from pure static")  # the grid's rows
SHOWN = ("shown to each one", "the static we added", "the real picture")  # what every snapshot is shown


@dataclass(frozen=True, eq=False)
class LearnResult:
    """One picture, one static, every snapshot. Pictures (28, 28) uint8 unless said otherwise."""

    picture: str  # "real picture #0 (T-shirt/top)"
    label: int  # the class every snapshot was told
    k: int
    seed: int
    percents: tuple[float, ...]  # (R,) the snapshots' points in the run
    steps_done: tuple[int, ...]  # (R,) training steps done at each
    snapshot_names: tuple[str, ...]  # (R,) "untrained", "after 5 % of training", …
    x0: np.ndarray  # the real clean picture
    x_t: np.ndarray  # the noisy picture every snapshot was shown
    noise: np.ndarray  # the static we added (grey = 0)
    errors: np.ndarray  # (R,) float, root-mean-square of (guess − static) per pixel (the static itself: about 1)
    made: np.ndarray  # (R, 28, 28) uint8, each snapshot's picture from the same pure static
    shown: np.ndarray  # (H, W) uint8: noisy picture | the static we added | the real picture, labelled
    grid: np.ndarray  # (H, W) uint8: a column per snapshot (untrained first), a row per one of the KINDS
    loss_figure: go.Figure
    cached: bool


def watch_it_learn(gallery_index: int = 0, k: int = DEFAULT_K, seed: int = 0) -> LearnResult:
    """Every snapshot's guess of the static in real picture ``gallery_index`` noised to ``k`` with ``seed``'s
    static, and each one's picture from the pure static of ``seed``."""
    clean = add_noise.clean_picture(DATASET, gallery_index)
    k = whole_number(k, "k", 1, NUM_TIMESTEPS, "noising steps; at k = 0 there is no static to guess")
    seed = whole_number(seed, "The seed", 0, MAX_SEED, "any seed gives different static")
    key = (clean.image.tobytes(), clean.label, k, seed)
    result = _CACHE.get(key)
    if result is None:
        result = _compute(clean, k, seed)
        _CACHE.put(key, replace(result, cached=True))
    return result


_CACHE: LRUCache[tuple, LearnResult] = LRUCache(CACHE_SIZE)
_PICTURES: LRUCache[tuple, torch.Tensor] = LRUCache(PICTURES_CACHE_SIZE)


def snapshot_name(percent: float) -> str:
    return "untrained" if percent == 0 else f"after {percent:g} % of training"


def column_name(percent: float, error: float) -> str:
    """A snapshot's label in the grid, on two lines: when it was saved and how far its guess of the static is off."""
    return f"{'untrained' if percent == 0 else f'after {percent:g} %'}\noff by {error:.2f}"


def _compute(clean: add_noise.CleanPicture, k: int, seed: int) -> LearnResult:
    points, stacked = denoiser.snapshot_stack()  # picture i of a batch of R goes to snapshot i
    r = len(points)
    x0 = to_model_range(clean.image[None])  # (1, 1, 28, 28)
    eps = added_noise(seed)  # (1, 1, 28, 28): the Add-noise tab's static for this seed
    t = torch.tensor([k - 1])  # (1,)
    x_t = q_sample(stacked.schedule, x0, t, eps).float()  # (1, 1, 28, 28): the snapshots share one schedule
    x0_guess, guess = stacked.guesses(x_t.expand(r, -1, -1, -1), t.expand(r), torch.full((r,), clean.label))
    guess = guess.float().cpu()  # (R, 1, 28, 28)
    errors = (guess - eps).pow(2).mean(dim=(1, 2, 3)).sqrt().double().numpy()  # (R,)
    made_uint8 = to_uint8(_pictures(stacked, r, clean.label, seed))  # (R, 28, 28)
    clean_guess = x0_guess.float().cpu().clamp(-1, 1)  # (R, 1, 28, 28)
    kinds = np.stack([_noise_picture(guess), _noise_picture(guess - eps), to_uint8(clean_guess),
                      made_uint8])  # (len(KINDS), R, 28, 28)
    names = tuple(snapshot_name(p["percent"]) for p in points)
    x_t_uint8, noise_uint8 = to_uint8(x_t)[0], _noise_picture(eps)[0]
    for array in (errors, made_uint8, x_t_uint8, noise_uint8):
        array.setflags(write=False)
    return LearnResult(
        picture=clean.description, label=clean.label, k=k, seed=seed,
        percents=tuple(p["percent"] for p in points), steps_done=tuple(p["step"] for p in points),
        snapshot_names=names, x0=clean.image, x_t=x_t_uint8, noise=noise_uint8, errors=errors, made=made_uint8,
        shown=headroom(plots.strip([x_t_uint8, noise_uint8, clean.image], labels=list(SHOWN), size=SHOWN_TILE)),
        grid=headroom(plots.labelled_grid(kinds, [column_name(p["percent"], e) for p, e in zip(points, errors)],
                                          list(KINDS), size=TILE, headings=True)),
        loss_figure=loss_figure(),
        cached=False,
    )


def _pictures(stacked: denoiser.Denoiser, r: int, label: int, seed: int) -> torch.Tensor:
    """Each of the ``r`` snapshots' picture of class ``label`` from the same pure static of ``seed`` (R, 1, 28, 28),
    made in one run of the stack; cached."""
    key = (label, seed)
    made = _PICTURES.get(key)
    if made is None:
        made = stacked.images([label] * r, [seed] * r, SamplingSettings()).float().cpu()  # (R, 1, 28, 28)
        _PICTURES.put(key, made)
    return made


def _noise_picture(eps: torch.Tensor) -> np.ndarray:
    """Static (N, 1, 28, 28), about N(0, 1) → uint8 (N, 28, 28), mid-grey = 0 (as Ask the network shows it)."""
    return to_uint8(eps / NOISE_DISPLAY_SCALE)


def loss_figure() -> go.Figure:
    """The training loss along the run (averaged over short windows), with the snapshots marked on it."""
    folder = registry.MODEL_STORE / denoiser.LEARNING
    config = registry.get_model(denoiser.LEARNING).config
    curve = json.loads((folder / config["loss_file"]).read_text())
    steps, losses = np.array(curve["step"]), np.array(curve["loss"])
    figure = plots.line_figure(steps, {"training loss": losses}, title="The training loss, with the snapshots marked",
                               xaxis="training steps done", yaxis="loss (lower = better)")
    points = config["snapshots"]
    marked_steps = [p["step"] for p in points]
    marked_loss = [float(np.interp(s, steps, losses)) if len(steps) else 0.0 for s in marked_steps]
    figure.add_trace(go.Scatter(x=marked_steps, y=marked_loss, mode="markers+text", name="snapshots",
                                text=[snapshot_name(p["percent"]).replace(" of training", "") for p in points],
                                textposition="top right", marker=dict(size=10)))
    return figure
