"""The "Guidance" demo: the same static finished with several guidance scales, side by side.

Owns: parsing the tab's arguments once (the list of scales as typed, the number of seeds, the class the
prompt or the list names: guidance needs a class to steer towards, "guide every step"), ``guidance_grid``,
which makes one row per seed and one column per scale in ONE batched sampler run (row i starts from
seed i's static, the same for every scale; a deterministic sampler, so a row differs only by the
guidance), with s above 1 applied on the model's measured guidance interval only or, when asked, on
every step; measures each column with the judge (recognition, variety against real gallery pictures),
draws the trade-off chart beside the larger sweep stored in the diffusion model's card, and shows the
steering signal ε_c − ε_u of the first seed at a chosen step; the plain sentence that says on which
steps guidance applies (``interval_sentence``: read from ``Denoiser.guided_steps``, never typed);
and the bounded cache of finished runs (a chosen step or a repeated request is answered without the model).
Does not know: the UI. The formula is explorer.guidance's ``guide`` (through ``make_model_fn``);
sampling is explorer.samplers; pictures are drawn by explorer.plots.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import plotly.graph_objects as go
import torch

from explorer import cards, denoiser, plots, registry
from explorer.checks import NOISE_DISPLAY_SCALE, finite_number, whole_number
from explorer.data import class_index, dataset_info, load_gallery, to_model_range, to_uint8
from explorer.demos.cache import LRUCache
from explorer.demos.choices import seed_run
from explorer.demos.framing import headroom
from explorer.guidance import GuidanceSteps, check_guidance
from explorer.metrics import judge_outputs, recognition_rate, within_class_variety
from explorer.prompts import as_text, is_blank, match_prompt
from explorer.samplers import check_sampler, check_steps, sample_steps
from explorer.sampling import DEFAULTS, static_per_seed

DEFAULT_SCALES = "0, 0.3, 0.6, 1, 3, 8"  # below 1 the class takes over column by column: columns that differ
MAX_SCALES = 8  # columns
MAX_SEEDS = 8  # rows
DEFAULT_SEEDS = 4
MAX_GRID_STEPS = 100  # steps of one grid (with few pictures; MAX_PICTURE_STEPS bounds the whole grid)
MAX_PICTURE_STEPS = 5 * DEFAULT_SEEDS * len(DEFAULT_SCALES.split(",")) * DEFAULTS.steps  # 5× the default grid: 1,920
GRID_SAMPLERS = ("dpm++", "ddim")  # deterministic (DDIM at η = 0): a row differs only by the guidance
CACHE_SIZE = 16  # finished runs kept (each ≤ ~5 MB: the first row's two noise predictions at every step)
TILE = 84  # px of a picture in the grid and the steering picture
FORMULA = "ε = ε_u + s · (ε_c − ε_u)"
W_NOTE = "Some papers and code write w = s − 1 (so their w = 0 is the plain conditional model, s = 1)."
SWEEP_COMMAND = "python -m explorer evaluate --dataset {dataset} --family diffusion --sweep guidance"
TRADEOFF_HEIGHT = plots.FIGURE_HEIGHT + 60  # px: on a phone the legend takes four rows; this keeps the plot taller
                                            # than its y-axis title (360 px left it 145 px high, the title 157 px)


@dataclass(frozen=True)
class GuidanceResult:
    """A finished grid. Columns follow ``scales`` (ascending), rows follow ``seeds``."""

    dataset: str
    mapping: str  # which class is drawn and why
    label: int
    class_name: str
    scales: tuple[float, ...]
    seeds: tuple[int, ...]
    sampler: str
    steps: int
    images: np.ndarray  # (rows, cols, 28, 28) uint8, the final pictures
    grid: np.ndarray  # (H, W) uint8, the pictures with the scales written under the columns
    recognition: np.ndarray  # (cols,) share of the column's pictures the judge sees as the class
    variety: np.ndarray  # (cols,) mean pairwise judge-feature distance in the column; NaN with one seed
    variety_ratio: np.ndarray  # (cols,) variety / that of the real gallery pictures of the class
    table: list[list[str]]  # one row per scale: scale, recognised, variety ratio
    every_step: bool  # True: s applied on every step; False: only on the model's guidance interval
    interval: tuple[int, int] | None  # the interval s above 1 applied on (None: every step)
    guided_steps: tuple[int, ...]  # 1-based steps where s above 1 applied
    interval_note: str  # the plain sentence saying so
    tradeoff_figure: go.Figure  # recognition and variety against s: these pictures and the card's sweep
    sweep_note: str  # why the card's sweep is not drawn; "" when it is
    step_shown: int  # 1 … steps, the step of the steering signal
    t_shown: int  # its schedule timestep
    eps_uncond: np.ndarray  # (cols, 28, 28) float32, first seed at step_shown: no class
    eps_cond: np.ndarray  # (cols, 28, 28) float32, the same with the class
    difference: np.ndarray  # (cols, 28, 28) float32, eps_cond − eps_uncond: the steering signal
    difference_gain: float  # the difference is drawn × this (its largest |value| → black or white)
    steering: np.ndarray  # (H, W) uint8, rows ε_u, ε_c, difference; one column per scale
    formula: str  # the formula as used
    w_note: str  # "some papers and code write w = s − 1"
    network_calls: int  # batched network calls of the run (one per step)
    guesses: int  # pictures that went through the network in all (each needed branch, identical pictures once)
    seconds: float  # wall time of the run that made the pictures (the first one, if cached)
    cached: bool  # True when the pictures came from the cache


@dataclass(frozen=True)
class _Request:
    """The validated, normalised arguments that decide the pictures: the cache key."""

    dataset: str
    label: int
    scales: tuple[float, ...]
    seeds: tuple[int, ...]
    sampler: str
    steps: int
    where: GuidanceSteps  # MEASURED, or EVERY_STEP when "guide every step" is ticked


@dataclass(frozen=True, eq=False)
class _Run:
    """What the model computed for a _Request (read-only arrays, shared through the cache)."""

    images: np.ndarray  # (rows, cols, 28, 28) uint8
    recognition: np.ndarray  # (cols,)
    variety: np.ndarray  # (cols,)
    variety_ratio: np.ndarray  # (cols,)
    ts: np.ndarray  # (steps,) int
    eps_uncond: np.ndarray  # (steps, cols, 28, 28) float32, the first row at every step
    eps_cond: np.ndarray  # (steps, cols, 28, 28) float32
    guesses: int  # pictures through the network, summed over the steps
    seconds: float


def guidance_grid(dataset: str = "fashion", prompt: str = "", class_name: str | int | None = None,
                  scales: str | list[float] = DEFAULT_SCALES, seeds: int = DEFAULT_SEEDS, first_seed: int = 0,
                  step_to_show: int = 0, sampler: str = DEFAULTS.sampler, steps: int = DEFAULTS.steps,
                  guide_every_step: bool = False) -> GuidanceResult:
    """Rows = seeds first_seed … first_seed + seeds − 1, columns = ``scales``; everything about them.

    ``class_name`` (a name or index; None = the first class) is used unless ``prompt`` names a class.
    ``step_to_show``: the step (1 … steps) whose steering signal is shown; 0 = the middle step, and a
    step past the last shows the last (so changing ``steps`` never makes it invalid).
    ``guide_every_step``: apply s on every step, the noisiest included, instead of only on the model's
    measured guidance interval (where s above 1 helps; elsewhere it is lowered to 1).
    A ValueError says what is wrong with an argument before anything runs.
    """
    request, mapping = _request(dataset, prompt, class_name, scales, seeds, first_seed, sampler, steps,
                                guide_every_step)
    step = _checked_step(step_to_show, request.steps)
    run = _CACHE.get(request)
    cached = run is not None
    if run is None:
        run = _compute(request)
        _CACHE.put(request, run)
    return _result(request, run, mapping, step, cached)


# ----------------------------------------------------------------------------- arguments

def parse_scales(scales: str | list[float]) -> tuple[float, ...]:
    """ "0, 1, 2 3" (commas and/or spaces) or numbers → 1 … MAX_SCALES distinct scales, ascending."""
    items = list(scales) if isinstance(scales, (list, tuple)) else re.split(r"[\s,;]+", str(scales or "").strip())
    items = [item for item in items if str(item) != ""]
    if not 1 <= len(items) <= MAX_SCALES:
        raise ValueError(f"Type 1 to {MAX_SCALES} guidance scales separated by commas, "
                         f"e.g. '{DEFAULT_SCALES}'; got {len(items)}.")
    values = []
    for item in items:
        value = finite_number(item) if isinstance(item, str) else item  # strict: "1_0" is not 10
        if value is None:
            raise ValueError(f"Guidance scales must be numbers separated by commas (e.g. '{DEFAULT_SCALES}'); "
                             f"{str(item)!r} is not a number.")
        values.append(check_guidance(value))
    return tuple(sorted(set(values)))


def _request(dataset, prompt, class_name, scales, seeds, first_seed, sampler, steps,
             every_step=False) -> tuple[_Request, str]:
    """The arguments, parsed once (what runs below trusts them) → the cache key and the sentence saying what will
    be drawn."""
    info = dataset_info(dataset)
    label, mapping = _class_to_draw(info.key, prompt, class_name)
    seed_list = seed_run(first_seed, whole_number(seeds, "The number of seeds (rows)", 1, MAX_SEEDS))
    sampler = check_sampler(sampler)
    if sampler not in GRID_SAMPLERS:
        raise ValueError("The guidance grid needs a deterministic sampler (dpm++ or ddim), so that a row "
                         "differs only by the guidance; DDPM adds fresh random noise at every step.")
    steps = check_steps(steps)
    if steps > MAX_GRID_STEPS:
        raise ValueError(f"The guidance grid runs at most {MAX_GRID_STEPS} steps (many pictures at once), "
                         f"got {steps}.")
    scale_list = parse_scales(scales)
    _check_cost(len(seed_list), len(scale_list), steps)
    where = GuidanceSteps.EVERY_STEP if _yes_or_no(every_step) else GuidanceSteps.MEASURED
    return _Request(info.key, label, scale_list, seed_list, sampler, steps, where), mapping


def _check_cost(rows: int, columns: int, steps: int) -> None:
    """At most MAX_PICTURE_STEPS pictures × steps in one grid (5× the default grid's), else a ValueError."""
    cost = rows * columns * steps
    if cost > MAX_PICTURE_STEPS:
        raise ValueError(f"One grid may make at most {MAX_PICTURE_STEPS} picture-steps (rows × columns × steps: "
                         f"5× the default {DEFAULT_SEEDS} × {len(DEFAULT_SCALES.split(','))} × {DEFAULTS.steps}), "
                         f"so that no request holds the model for the whole class; {rows} × {columns} × {steps} "
                         f"is {cost}. Use fewer rows, columns or steps.")


def _yes_or_no(value) -> bool:
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise ValueError(f"'Guide every step' must be true or false, got {value!r}.")


def _class_to_draw(dataset: str, prompt: str | None, class_name) -> tuple[int, str]:
    """The class a prompt names, else the chosen class (guidance needs one), and why."""
    info = dataset_info(dataset)
    match = match_prompt(info.key, prompt)
    if match.class_index is not None:
        return match.class_index, match.explanation
    label = class_index(info, info.class_names[0] if class_name in (None, "") else class_name)
    name = info.class_names[label]
    if is_blank(prompt):
        return label, f"No prompt: the chosen class, {name}."
    return label, (f"'{as_text(prompt)}' names none of the {info.num_classes} {info.title} classes. Guidance "
                   f"needs a class to steer towards, so the class chosen in the list is used: {name}.")


def _checked_step(step_to_show, steps: int) -> int:
    """1-based step whose steering signal is shown: 0 → the middle step; past the last → the last."""
    step = whole_number(step_to_show, "The step to show (0 = the middle step)", 0, MAX_GRID_STEPS)
    return min(step, steps) or (steps + 1) // 2


# ----------------------------------------------------------------------------- where guidance applies

def step_ranges(numbers: tuple[int, ...]) -> str:
    """(1, 2, 3, 7, 8) → "1–3 and 7–8"; (5,) → "5"."""
    runs: list[list[int]] = []
    for n in numbers:
        if runs and n == runs[-1][-1] + 1:
            runs[-1].append(n)
        else:
            runs.append([n])
    parts = [f"{r[0]}–{r[-1]}" if len(r) > 1 else f"{r[0]}" for r in runs]
    return ", ".join(parts[:-1]) + (" and " if len(parts) > 1 else "") + parts[-1] if parts else "none"


def interval_sentence(dataset: str, steps: int = DEFAULTS.steps, where: GuidanceSteps = GuidanceSteps.MEASURED) -> str:
    """Plain words: on which of ``steps`` steps the push above s = 1 applies (MEASURED or EVERY_STEP), read from
    the model."""
    guided = denoiser.get(dataset).guided_steps(steps, where)
    if where == GuidanceSteps.EVERY_STEP:
        return (f"**Guide every step is on:** s applies on all {steps} steps, the noisiest included.")
    if len(guided) == steps:
        return f"This model applies s on all {steps} steps."
    if not guided:
        return (f"With {steps} steps, none is inside this model's guidance interval: any s above 1 is lowered "
                f"to 1 on every step.")
    rest = tuple(i for i in range(1, steps + 1) if i not in guided)
    return (f"**Where the push applies:** s above 1 is used only on steps {step_ranges(guided)} of {steps}, "
            f"when the picture is already taking shape. On steps {step_ranges(rest)}, the noisiest, it is lowered "
            f"to 1 (just \"told the class\"); these steps were chosen by measurement (see this model's card). "
            f"Tick *guide every step* to push on every step and see what changes.")


# ----------------------------------------------------------------------------- the cache

_CACHE: LRUCache[_Request, _Run] = LRUCache(CACHE_SIZE)


# ----------------------------------------------------------------------------- the run

def _compute(request: _Request) -> _Run:
    """All rows × columns in one batch: image r·cols + c is seed r's static with scale c."""
    start = time.perf_counter()
    rows, cols = len(request.seeds), len(request.scales)
    judge = registry.judge(request.dataset)  # before sampling: a missing judge fails fast
    model = denoiser.get(request.dataset)
    labels = torch.full((rows * cols,), request.label, dtype=torch.long, device=model.device)  # (B,)
    per_image = torch.tensor(request.scales, dtype=torch.float32).repeat(rows)  # (B,): image r·cols + c gets scale c
    first_row = torch.arange(rows * cols, device=model.device) < cols  # (B,): its steering signal is shown
    model_fn = model.model_fn(labels, per_image, request.where, keep_branches=first_row)
    x_T, _ = static_per_seed(request.seeds, model.device)  # (rows, 1, 28, 28)
    ts, eps_u, eps_c, guesses, last = [], [], [], 0, None
    for last in sample_steps(model_fn, model.schedule, x_T.repeat_interleave(cols, dim=0), sampler=request.sampler,
                             steps=request.steps, eta=0.0, clip_x0=DEFAULTS.clip_x0):
        ts.append(last.t)
        guesses += last.prediction.guesses
        eps_u.append(last.prediction.eps_uncond[:cols, 0].float().cpu())  # (cols, 28, 28): the first row
        eps_c.append(last.prediction.eps_cond[:cols, 0].float().cpu())
    finals = last.x_next.clamp(-1, 1)  # (B, 1, 28, 28)
    recognition, variety, ratio = _measure(request, judge, finals, rows, cols)
    run = _Run(images=to_uint8(finals).reshape(rows, cols, 28, 28), recognition=recognition, variety=variety,
               variety_ratio=ratio, ts=np.array(ts), eps_uncond=torch.stack(eps_u).numpy(),
               eps_cond=torch.stack(eps_c).numpy(), guesses=guesses, seconds=time.perf_counter() - start)
    for array in (run.images, run.recognition, run.variety, run.variety_ratio, run.ts, run.eps_uncond, run.eps_cond):
        array.setflags(write=False)  # shared through the cache
    return run


def _measure(request: _Request, judge: torch.nn.Module, finals: torch.Tensor, rows: int, cols: int):
    """Per column: the judge's recognition rate, the variety and the variety relative to real pictures."""
    probs, features = judge_outputs(judge, finals)  # (B, C), (B, F)
    labels = torch.full((rows,), request.label, dtype=torch.long)
    real = _real_variety(request.dataset, request.label)
    recognition, variety = np.zeros(cols), np.full(cols, np.nan)
    for c in range(cols):
        column = torch.arange(c, rows * cols, cols)  # images r·cols + c
        recognition[c] = recognition_rate(probs[column], labels)
        if rows >= 2:
            variety[c] = within_class_variety(features[column], labels)
    return recognition, variety, variety / real


@lru_cache(maxsize=32)
def _real_variety(dataset: str, label: int) -> float:
    """Within-class variety of the shipped real gallery pictures of ``label`` (judge features)."""
    images, labels = load_gallery(dataset)
    picks = labels == label
    _, features = judge_outputs(registry.judge(dataset), to_model_range(images[picks]))
    return within_class_variety(features, torch.from_numpy(labels[picks]))


# ----------------------------------------------------------------------------- presentation

def _result(request: _Request, run: _Run, mapping: str, step: int, cached: bool) -> GuidanceResult:
    info = dataset_info(request.dataset)
    i = step - 1
    difference = run.eps_cond[i] - run.eps_uncond[i]  # (cols, 28, 28)
    largest = float(np.abs(difference).max())
    gain = 1.0 / largest if largest > 0 else 1.0
    figure, sweep_note = _tradeoff(request, run)
    model = denoiser.get(request.dataset)
    interval = model.interval(request.where)
    return GuidanceResult(
        dataset=info.key, mapping=mapping, label=request.label,
        class_name=info.class_names[request.label], scales=request.scales, seeds=request.seeds,
        sampler=request.sampler, steps=request.steps, images=run.images,
        grid=headroom(_grid_picture(run.images, request.scales)),
        recognition=run.recognition, variety=run.variety, variety_ratio=run.variety_ratio,
        table=_table(request, run), tradeoff_figure=figure, sweep_note=sweep_note,
        every_step=request.where == GuidanceSteps.EVERY_STEP, interval=interval,
        guided_steps=model.guided_steps(request.steps, request.where),
        interval_note=interval_sentence(request.dataset, request.steps, request.where),
        step_shown=step, t_shown=int(run.ts[i]),
        eps_uncond=run.eps_uncond[i], eps_cond=run.eps_cond[i], difference=difference, difference_gain=gain,
        steering=headroom(_steering_picture(run.eps_uncond[i], run.eps_cond[i], difference, gain, request.scales)),
        formula=FORMULA, w_note=W_NOTE,
        network_calls=request.steps, guesses=run.guesses, seconds=run.seconds, cached=cached,
    )


def _scale_label(scale: float) -> str:
    return f"s = {scale:g}"


def _stack(pictures: list[np.ndarray], gap: int = 4) -> np.ndarray:
    """uint8 pictures of the same width, one under the other, with grey gaps."""
    band = np.full((gap, pictures[0].shape[1]), plots.GAP_VALUE, dtype=np.uint8)
    parts = [part for picture in pictures for part in (picture, band)][:-1]
    return np.concatenate(parts)


def _grid_picture(images: np.ndarray, scales: tuple[float, ...]) -> np.ndarray:
    """(rows, cols, 28, 28) → one picture: a row per seed, the scales written under the last row."""
    rows = [plots.strip(row, size=TILE) for row in images[:-1]]
    rows.append(plots.strip(images[-1], labels=[_scale_label(s) for s in scales], size=TILE))
    return _stack(rows)


STEERING_ROWS = ("told nothing", "told the class", "difference x {gain}")  # rows (ASCII: the picture font has no ×)


def _steering_picture(eps_u: np.ndarray, eps_c: np.ndarray, difference: np.ndarray, gain: float,
                      scales: tuple[float, ...]) -> np.ndarray:
    """Three labelled rows (the noise predicted told nothing, told the class, their difference × gain), one
    column per scale: mid-grey = 0."""
    def noise(eps: np.ndarray) -> np.ndarray:
        return to_uint8(torch.from_numpy(eps / NOISE_DISPLAY_SCALE))

    rows = np.stack([noise(eps_u), noise(eps_c), to_uint8(torch.from_numpy(difference * gain))])  # (3, cols, 28, 28)
    labels = [STEERING_ROWS[0], STEERING_ROWS[1], STEERING_ROWS[2].format(gain=f"{gain:.2g}")]
    return plots.labelled_grid(rows, [_scale_label(s) for s in scales], labels, size=TILE,
                               headings=True)  # narrow: a phone shrinks it less


def _table(request: _Request, run: _Run) -> list[list[str]]:
    """Rows: scale, how many pictures the judge recognises, variety against real pictures."""
    rows = len(request.seeds)
    return [[f"{scale:g}", f"{round(recognition * rows)}/{rows}",
             "needs 2 seeds" if math.isnan(ratio) else f"{ratio:.2f}"]
            for scale, recognition, ratio in zip(request.scales, run.recognition, run.variety_ratio)]


def _card_sweep(dataset: str) -> list[dict]:
    """The diffusion card's guidance sweep, sorted by scale; [] when it has not been measured."""
    folder = registry.MODEL_STORE / registry.model_name(dataset, "diffusion")
    sweep = cards.read_metrics(folder).get("guidance_sweep")
    if not isinstance(sweep, list):
        return []
    return sorted((p for p in sweep if isinstance(p, dict) and isinstance(p.get("guidance"), (int, float))),
                  key=lambda p: p["guidance"])


def _tradeoff(request: _Request, run: _Run) -> tuple[go.Figure, str]:
    """Recognition and variety ratio against s: these pictures (solid) and the card's sweep (dashed)."""
    rows = len(request.seeds)
    figure = plots.line_figure(request.scales, {
        f"recognised (these {rows})": run.recognition,
        f"variety (these {rows})": run.variety_ratio,
    }, title="Pushing harder: a clearer class, less variety",
        xaxis="guidance scale s", yaxis="recognised · variety")
    figure.update_traces(mode="lines+markers", marker=dict(size=10))
    figure.update_layout(height=TRADEOFF_HEIGHT)
    sweep = _card_sweep(request.dataset)
    if not sweep:
        return figure, ("The larger measured sweep (many pictures per scale, all classes) is not measured yet — "
                        f"run {SWEEP_COMMAND.format(dataset=request.dataset)}")
    n = sweep[0].get("n_images", "many")
    measured = plots.line_figure([p["guidance"] for p in sweep], {
        f"recognised ({n} measured earlier)": [p.get("recognition", math.nan) for p in sweep],
        f"variety ({n} measured earlier)": [p.get("variety_ratio", math.nan) for p in sweep],
    }, title="", xaxis="", yaxis="")
    measured.update_traces(line=dict(dash="dash", width=2), mode="lines+markers")
    figure.add_traces(measured.data)
    return figure, ""
