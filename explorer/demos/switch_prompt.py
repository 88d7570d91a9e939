"""The "Switch the prompt mid-run" demo on the Remove-noise tab: the prompt is read at every step.

Owns: ``switch_prompt`` — one static, copied into one run per switch step of ``SWITCHES`` (all in one
batch, at the app's default settings): each run is told the first class until its switch step and the
second class from then on ("never" keeps the first class to the end). It returns one labelled strip per
run (the network's clean-picture guess x̂0 at a few steps, then the final picture) and the judge's
probability of both classes for every step's x̂0, as a chart. The guided ``model_fn`` that changes the
labels at a step is built here (``switching_model_fn``): at every step it asks the denoiser for the
``model_fn`` of that step's labels, so each step stays one batched network call.
Finished results are kept in a bounded cache.
Does not know: the UI. The guidance formula is explorer.guidance's, the steps explorer.samplers'.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable

import numpy as np
import plotly.graph_objects as go
import torch

from explorer import denoiser, plots, registry
from explorer.checks import check_seed
from explorer.data import class_index, dataset_info, to_uint8
from explorer.demos.cache import LRUCache
from explorer.demos.framing import headroom
from explorer.guidance import ModelFn, Prediction
from explorer.metrics import judge_outputs
from explorer.samplers import sample_steps, timesteps_for
from explorer.sampling import DEFAULTS, starting_static

NEVER = None  # a switch step that never comes
STEPS = 20  # this demo's own steps: the switch points and shown steps below are spaced for 20
SWITCHES = (0, 3, 6, 10, 15, NEVER)  # steps done with the first class before the switch (0 = second class throughout)
SHOWN_STEPS = (1, 4, 7, 11, 16)  # the strips show x̂0 at these steps (1-based), then the final picture
DEFAULT_PAIRS = {"fashion": ("Sneaker", "Bag"), "mnist": ("one", "eight")}  # measured: early switches give the second
TILE = 84
CACHE_SIZE = 32


@dataclass(frozen=True, eq=False)
class SwitchResult:
    dataset: str
    first: int  # class told until the switch
    second: int  # class told from the switch on
    first_name: str
    second_name: str
    seed: int
    steps: int
    switches: tuple[int | None, ...]  # SWITCHES: one run each, top to bottom
    pictures: np.ndarray  # (runs, len(SHOWN_STEPS) + 1, 28, 28) uint8: x̂0 at the shown steps, then the final
    grid: np.ndarray  # (H, W) uint8, one labelled strip per run
    probabilities: np.ndarray  # (runs, steps + 1, 2): the judge's P(first), P(second) for each x̂0, then the final
    final_classes: tuple[str, ...]  # the judge's top class for each run's final picture
    figure: go.Figure
    cached: bool


def switch_prompt(dataset: str = "fashion", first_class: str | int | None = None,
                  second_class: str | int | None = None, seed: int = 0) -> SwitchResult:
    """One static (``seed``) told ``first_class`` and then ``second_class`` from each step of SWITCHES.

    None for a class: the dataset's default pair (DEFAULT_PAIRS).
    """
    info = dataset_info(dataset)
    first = class_index(info, DEFAULT_PAIRS[info.key][0] if first_class in (None, "") else first_class)
    second = class_index(info, DEFAULT_PAIRS[info.key][1] if second_class in (None, "") else second_class)
    if first == second:
        raise ValueError(f"Choose two different classes to switch between; both are {info.class_names[first]}.")
    key = (info.key, first, second, check_seed(seed))
    result = _CACHE.get(key)
    if result is None:
        result = _run(*key)
        _CACHE.put(key, replace(result, cached=True))
    return result


_CACHE: LRUCache[tuple, SwitchResult] = LRUCache(CACHE_SIZE)


def switching_model_fn(model_fn_for: Callable[[torch.Tensor], ModelFn], first: int, second: int,
                       timesteps: list[int], switches: tuple[int | None, ...]) -> ModelFn:
    """A ``model_fn`` whose image i is told class ``first`` for its first ``switches[i]`` steps, then ``second``.

    ``model_fn_for(labels (B,))`` builds the guided model_fn for those labels (cheap: no network call);
    ``timesteps``: the run's timesteps in order (step k sees timesteps[k]); None in ``switches`` = never.
    Each step is one batched call of the model_fn for that step's labels.
    """
    step_of = {t: k for k, t in enumerate(timesteps)}

    def model_fn(x_t: torch.Tensor, t: int) -> Prediction:
        k = step_of[t]
        labels = torch.tensor([second if s is not None and k >= s else first for s in switches],
                              dtype=torch.long, device=x_t.device)  # (B,)
        return model_fn_for(labels)(x_t, t)

    return model_fn


def _run(dataset: str, first: int, second: int, seed: int) -> SwitchResult:
    """One batch: the same static once per switch step, then the judge on every step's x̂0."""
    den = denoiser.get(dataset)
    settings = replace(DEFAULTS, steps=STEPS)
    runs = len(SWITCHES)
    x_T, generator = starting_static(seed, 1, den.device)  # (1, 1, 28, 28)
    x_T = x_T.expand(runs, -1, -1, -1).contiguous()  # (runs, 1, 28, 28): the same static in every run
    model_fn = switching_model_fn(lambda labels: den.model_fn(labels, settings.guidance), first, second,
                                  timesteps_for(den.schedule, settings.steps), SWITCHES)
    x0 = []  # per step: (runs, 1, 28, 28)
    for step in sample_steps(model_fn, den.schedule, x_T, sampler=settings.sampler, steps=settings.steps,
                             eta=settings.eta, generator=generator, clip_x0=settings.clip_x0):
        x0.append(step.x0.float().cpu())
    final = step.x_next.clamp(-1, 1).float().cpu()  # (runs, 1, 28, 28)
    guesses = torch.stack([*x0, final], dim=1)  # (runs, steps + 1, 1, 28, 28)
    probs = _judged(dataset, guesses)  # (runs, steps + 1, C)
    return _result(dataset, first, second, seed, settings.steps, guesses, probs)


def _judged(dataset: str, guesses: torch.Tensor) -> np.ndarray:
    """The judge's probabilities (runs, steps + 1, C) for pictures (runs, steps + 1, 1, 28, 28)."""
    judge = registry.judge(dataset)
    probs, _ = judge_outputs(judge, guesses.flatten(0, 1))  # (runs·(steps + 1), C)
    return probs.double().numpy().reshape(*guesses.shape[:2], -1)


def _result(dataset, first, second, seed, steps, guesses: torch.Tensor, probs: np.ndarray) -> SwitchResult:
    info = dataset_info(dataset)
    columns = [*(s - 1 for s in SHOWN_STEPS), steps]  # indices into guesses' steps + 1 (the last is the final)
    pictures = np.stack([to_uint8(guesses[:, c]) for c in columns], axis=1)  # (runs, columns, 28, 28)
    pair = probs[:, :, [first, second]]  # (runs, steps + 1, 2)
    for array in (pictures, pair):
        array.setflags(write=False)  # shared through the cache
    names = (info.class_names[first], info.class_names[second])
    rows = [_row_label(s) for s in SWITCHES]
    return SwitchResult(
        dataset=info.key, first=first, second=second, first_name=names[0], second_name=names[1], seed=seed,
        steps=steps, switches=SWITCHES, pictures=pictures,
        grid=headroom(plots.labelled_grid(pictures, [*(f"step {s}" for s in SHOWN_STEPS), "final"], rows,
                                          size=TILE, headings=True)),  # narrow: a phone shrinks it less
        probabilities=pair,
        final_classes=tuple(info.class_names[int(c)] for c in probs[:, -1].argmax(-1)),
        figure=plots.probability_lines_figure(
            np.arange(1, steps + 1), {row: (pair[r, :-1, 0], pair[r, :-1, 1]) for r, row in enumerate(rows)},
            names, title=f"Does the judge see {names[1]} (solid) or {names[0]} (dotted)?"),
        cached=False,
    )


def _row_label(switch: int | None) -> str:
    if switch is NEVER:
        return "never"
    return "from the start" if switch == 0 else f"after step {switch}"
