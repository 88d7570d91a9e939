"""The "Impossible requests" demo on the Mistakes tab: what does the diffusion model draw when told two classes?

Owns: ``impossible_request`` (a prompt naming two classes: both steering signals added, eps = eps_u + s·[(eps_a −
eps_u) + (eps_b − eps_u)], beside each class asked for alone from the same static, all in one network call per
step; the judge's probabilities for every class), ``asked_rows`` (which classes each picture asks for), and the
bounded cache of finished runs.
Does not know: the UI, the network (the sum of steering signals is ``Denoiser.steering_fn``). Prompts are read by
explorer.prompt_pairs; pictures are drawn by explorer.plots.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import plotly.graph_objects as go

from explorer import denoiser, plots, registry
from explorer.data import dataset_info, to_uint8
from explorer.demos.cache import LRUCache
from explorer.demos.choices import seed_run
from explorer.demos.framing import headroom
from explorer.guidance import check_guidance
from explorer.metrics import judge_outputs
from explorer.prompt_pairs import match_pair
from explorer.samplers import sample_steps
from explorer.sampling import DEFAULTS, static_per_seed

PAIR_SEEDS = 3  # statics; each makes 3 pictures (class a, class b, both): a 3 × 3 grid
CACHE_SIZE = 8
TILE = 84  # px of a picture in the labelled picture
PAIR_FORMULA = "ε = ε_u + s · [(ε_a − ε_u) + (ε_b − ε_u)]"


@dataclass(frozen=True)
class ImpossibleResult:
    prompt: str  # as used (the example when nothing was typed)
    explanation: str  # what the prompt was understood as
    classes: tuple[int, int]
    class_names: tuple[str, str]
    scale: float
    seeds: tuple[int, ...]
    images: np.ndarray  # (3, PAIR_SEEDS, 28, 28) uint8: rows class a alone, class b alone, both
    picture: np.ndarray  # (H, W) uint8, the three rows labelled
    probs: np.ndarray  # (3, PAIR_SEEDS, C) the judge's probabilities of every class
    figure: go.Figure  # the judge's average probability of every class, per row
    rows: list[list[str]]  # one row per "both" picture: seed, judge says, probability of a, of b
    formula: str
    guided_steps: tuple[int, ...]  # 1-based steps where s above 1 applied
    steps: int
    seconds: float
    cached: bool


@dataclass(frozen=True, eq=False)
class _PairRun:
    images: np.ndarray  # (3, N, 28, 28)
    probs: np.ndarray  # (3, N, C)
    seconds: float


_CACHE: LRUCache[tuple, _PairRun] = LRUCache(CACHE_SIZE)


def impossible_request(dataset: str = "fashion", prompt: str = "", first_seed: int = 0,
                       guidance: float = DEFAULTS.guidance) -> ImpossibleResult:
    """Both classes a prompt names, steered at once, beside each alone from the same statics."""
    info = dataset_info(dataset)
    pair = match_pair(info.key, prompt)
    seeds = seed_run(first_seed, PAIR_SEEDS)
    scale = check_guidance(guidance)
    key = (info.key, pair.classes, seeds, scale)
    run = _CACHE.get(key)
    cached = run is not None
    if run is None:
        run = _pair_run(info.key, pair.classes, seeds, scale)
        _CACHE.put(key, run)
    return _pair_result(info.key, pair, seeds, scale, run, cached)


def asked_rows(classes: tuple[int, int], count: int) -> list[tuple[int, ...]]:
    """The classes each picture asks for: ``count`` of (a), then of (b), then of (a, b)."""
    a, b = classes
    return [(a,)] * count + [(b,)] * count + [(a, b)] * count


def _pair_run(dataset: str, classes: tuple[int, int], seeds: tuple[int, ...], scale: float) -> _PairRun:
    start = time.perf_counter()
    judge = registry.judge(dataset)
    model = denoiser.get(dataset)
    x_T, _ = static_per_seed(seeds, model.device)  # (N, 1, 28, 28)
    model_fn = model.steering_fn(asked_rows(classes, len(seeds)), scale)
    last = None
    for last in sample_steps(model_fn, model.schedule, x_T.repeat(3, 1, 1, 1), sampler=DEFAULTS.sampler,
                             steps=DEFAULTS.steps, eta=DEFAULTS.eta, clip_x0=DEFAULTS.clip_x0):
        pass
    finals = last.x_next.clamp(-1, 1)  # (3N, 1, 28, 28)
    probs, _ = judge_outputs(judge, finals)  # (3N, C)
    n = len(seeds)
    run = _PairRun(images=to_uint8(finals).reshape(3, n, 28, 28), probs=probs.double().numpy().reshape(3, n, -1),
                   seconds=time.perf_counter() - start)
    for array in (run.images, run.probs):
        array.setflags(write=False)
    return run


def _pair_result(dataset: str, pair, seeds, scale: float, run: _PairRun, cached: bool) -> ImpossibleResult:
    info = dataset_info(dataset)
    a, b = pair.classes
    names = (info.class_names[a], info.class_names[b])
    model = denoiser.get(dataset)
    guided = model.guided_steps(DEFAULTS.steps)
    both = run.probs[2]  # (N, C)
    rows = [[f"{seed}", f"{info.class_names[both[i].argmax()]} {both[i].max():.0%}", f"{both[i, a]:.0%}",
             f"{both[i, b]:.0%}"] for i, seed in enumerate(seeds)]
    row_names = [f"told: {names[0]}", f"told: {names[1]}", "told: both"]
    picture = headroom(plots.labelled_grid(run.images, [f"seed {s}" for s in seeds], row_names, size=TILE))
    return ImpossibleResult(
        prompt=pair.text, explanation=pair.explanation, classes=pair.classes, class_names=names,
        scale=scale, seeds=seeds, images=run.images, picture=picture, probs=run.probs,
        figure=_judge_figure(info.class_names, run.probs, row_names), rows=rows, formula=PAIR_FORMULA,
        guided_steps=guided, steps=DEFAULTS.steps, seconds=run.seconds, cached=cached,
    )


def _judge_figure(class_names: Sequence[str], probs: np.ndarray, row_names: list[str]) -> go.Figure:
    """Grouped bars: for each row, the judge's probability of every class, averaged over its pictures."""
    bars = [go.Bar(x=list(class_names), y=probs[r].mean(0), name=name, marker=dict(color=plots.COLOURS[r]))
            for r, name in enumerate(row_names)]
    layout = plots.figure_layout("What the judge thinks they show (average)", "class",
                                 "probability", hovermode="closest", barmode="group",
                                 yaxis=dict(range=[0, 1]), xaxis=dict(tickangle=-45))
    return go.Figure(bars, layout=layout)
