"""The "Same start, different endings" demo on the Remove-noise tab: where variety comes from.

Owns: ``different_endings`` — six pictures of one class, each from its own seed's static, made in one
batched run at the app's default settings; the network's clean-picture guess x̂0 of every row at a few
steps (``SHOWN_STEPS``) and the final pictures as one labelled grid; and two measures per step, as a
chart: how close each row's x̂0 is to that row's own final picture, and how alike the six rows' x̂0
are (pixel correlations, averaged). Finished results are kept in a bounded cache.
Does not know: the UI. The run is explorer.denoiser's; the pictures are drawn by explorer.plots.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import plotly.graph_objects as go
import torch

from explorer import denoiser, plots
from explorer.checks import MAX_SEED, whole_number
from explorer.data import class_index, dataset_info, to_uint8
from explorer.demos.cache import LRUCache
from explorer.demos.framing import headroom
from explorer.sampling import DEFAULTS

ROWS = 6  # seeds, one row each
SHOWN_STEPS = (1, 3, 5, 8, 12)  # the steps whose x̂0 the grid shows (1 = the guess from pure static), then the final
TILE = 84
CACHE_SIZE = 32


@dataclass(frozen=True, eq=False)
class EndingsResult:
    dataset: str
    label: int
    class_name: str
    seeds: tuple[int, ...]  # one per row, top to bottom
    steps: int  # steps of the run (the app's default)
    shown_steps: tuple[int, ...]  # SHOWN_STEPS: the grid's columns before the final picture
    pictures: np.ndarray  # (ROWS, len(SHOWN_STEPS) + 1, 28, 28) uint8: x̂0 at the shown steps, then the final
    grid: np.ndarray  # (H, W) uint8, labelled
    closeness: np.ndarray  # (steps,) mean over rows of corr(x̂0 at that step, the row's final picture)
    alikeness: np.ndarray  # (steps,) mean over pairs of rows of corr(their x̂0 at that step)
    figure: go.Figure
    cached: bool


def different_endings(dataset: str = "fashion", class_name: str | int | None = None,
                      first_seed: int = 0) -> EndingsResult:
    """Rows: seeds ``first_seed`` … ``first_seed`` + 5, the same class (None: the first one) and settings."""
    info = dataset_info(dataset)
    label = class_index(info, info.class_names[0] if class_name in (None, "") else class_name)
    first = whole_number(first_seed, "The first seed", 0, MAX_SEED - ROWS + 1, f"rows use it and the next {ROWS - 1}")
    key = (info.key, label, first)
    result = _CACHE.get(key)
    if result is None:
        result = _run(info.key, label, tuple(range(first, first + ROWS)))
        _CACHE.put(key, replace(result, cached=True))
    return result


_CACHE: LRUCache[tuple, EndingsResult] = LRUCache(CACHE_SIZE)


def _run(dataset: str, label: int, seeds: tuple[int, ...]) -> EndingsResult:
    """One batched run of ROWS pictures (one static per seed) and everything drawn from it."""
    den = denoiser.get(dataset)
    x0 = []  # per step: (ROWS, 1, 28, 28)
    for step in den.steps([label] * len(seeds), list(seeds), DEFAULTS):
        x0.append(step.x0.float().cpu())
    final = step.x_next.clamp(-1, 1).float().cpu()  # (ROWS, 1, 28, 28)
    guesses = torch.stack(x0, dim=1)[:, :, 0]  # (ROWS, steps, 28, 28)
    closeness = _mean_correlation_to(guesses, final[:, 0])  # (steps,)
    alikeness = np.array([_mean_pairwise_correlation(guesses[:, k]) for k in range(guesses.shape[1])])
    columns = [*(guesses[:, s - 1] for s in SHOWN_STEPS), final[:, 0]]  # each (ROWS, 28, 28)
    pictures = np.stack([to_uint8(column) for column in columns], axis=1)  # (ROWS, columns, 28, 28)
    name = dataset_info(dataset).class_names[label]
    for array in (pictures, closeness, alikeness):
        array.setflags(write=False)  # shared through the cache
    return EndingsResult(
        dataset=dataset, label=label, class_name=name, seeds=seeds, steps=DEFAULTS.steps,
        shown_steps=SHOWN_STEPS, pictures=pictures,
        grid=headroom(plots.labelled_grid(pictures, [*(f"step {s}" for s in SHOWN_STEPS), "final"],
                                          [f"seed {s}" for s in seeds], size=TILE)),
        closeness=closeness, alikeness=alikeness,
        figure=_figure(closeness, alikeness),
        cached=False,
    )


def _correlations(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Pixel correlation of matching pictures, a and b (..., 28, 28) → (...); a flat picture counts as 0."""
    a = a.flatten(-2).double()
    b = b.flatten(-2).double()
    a = a - a.mean(-1, keepdim=True)
    b = b - b.mean(-1, keepdim=True)
    norms = a.norm(dim=-1) * b.norm(dim=-1)
    return torch.where(norms > 1e-9, (a * b).sum(-1) / norms.clamp(min=1e-9), torch.zeros_like(norms))


def _mean_correlation_to(guesses: torch.Tensor, final: torch.Tensor) -> np.ndarray:
    """guesses (R, steps, 28, 28), final (R, 28, 28) → (steps,) mean over rows of corr(guess, own final)."""
    return _correlations(guesses, final[:, None]).mean(0).numpy()


def _mean_pairwise_correlation(pictures: torch.Tensor) -> float:
    """pictures (R, 28, 28) → mean correlation over the R·(R−1)/2 pairs of different rows."""
    rows, cols = torch.triu_indices(pictures.shape[0], pictures.shape[0], offset=1)
    return float(_correlations(pictures[rows], pictures[cols]).mean())


def _figure(closeness: np.ndarray, alikeness: np.ndarray) -> go.Figure:
    steps = np.arange(1, closeness.shape[0] + 1)
    figure = plots.line_figure(steps, {"like its own final picture": closeness,
                                       "like the other rows": alikeness},
                               title="When is the picture decided?", xaxis="step (1 = pure static)",
                               yaxis="how alike (1 = the same)")
    figure.update_traces(mode="lines+markers")
    figure.update_yaxes(range=[min(0.0, float(min(closeness.min(), alikeness.min()))), 1.02])
    return figure
