"""The Compare tab's "One shot, or many small steps?": a VAE, a GAN and the diffusion model make the same class.

Owns: ``compare`` (the same class and seeds through the VAE's one decoder pass, the GAN's one
generator pass and the diffusion model's N denoising steps; the network passes per image, counted
while the code runs, and the milliseconds per image measured in this request; the same static after
1 step; the measured quality of each family and diffusion's quality against the number of steps, both
read from the model cards, with a "not measured yet" note where a card lacks them; how each family
learned and how many random numbers go into one picture (``random_numbers``), read from the networks and the
image size). The tab's other two demos are explorer.demos.latent_map and explorer.demos.interpolation.
Does not know: the UI, the networks (explorer.one_shot and explorer.denoiser run and count them), or how the cards
were measured (explorer.evaluate writes them).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace

import numpy as np
import plotly.graph_objects as go
import torch

from explorer import cards, denoiser, one_shot, plots, registry
from explorer.checks import whole_number
from explorer.data import dataset_info, to_uint8
from explorer.demos.choices import class_choice, seed_run
from explorer.demos.framing import headroom
from explorer.sampling import DEFAULTS, IMAGE_SHAPE, live

MAX_SEEDS = 8  # pictures per family
DEFAULT_SEEDS = 4
MAX_PICTURE_STEPS = 5 * DEFAULT_SEEDS * DEFAULTS.steps  # diffusion pictures × steps of one comparison: 320
TILE = 84  # px of a picture in a strip
FAMILY_TITLES = {"vae": "VAE", "gan": "GAN", "diffusion": "Diffusion"}
NOT_MEASURED = "not measured yet"
EVALUATE_COMMAND = "python -m explorer evaluate --dataset {dataset} --family {family}"
QUALITY_HEADERS = ["model", "recognised by the judge", "distance from real pictures (real vs real)",
                   "variety (real = 1)", "pictures scored"]
FAMILY_HEADERS = ["", "VAE", "GAN", "Diffusion"]
LEARNED_BY = {"vae": "rebuilding pictures through a short code", "gan": "a contest against a critic",
              "diffusion": "removing noise we added"}
SPEED_HEADERS = ["model", "how it makes a picture", "network passes per picture", "ms per picture (measured now)"]


@dataclass(frozen=True)
class FamilyRun:
    """One family's pictures of this request and what they cost."""

    family: str  # "vae", "gan" or "diffusion"
    title: str  # "VAE", "GAN", "Diffusion, 16 steps"
    images: np.ndarray  # (N, 28, 28) uint8, one per seed
    strip: np.ndarray  # (H, W) uint8, the pictures labelled with their seeds
    passes_per_image: float  # network passes per picture, counted while generating
    ms_per_image: float  # wall time of the generation / N, measured in this request


@dataclass(frozen=True)
class CompareResult:
    label: int
    class_name: str
    seeds: tuple[int, ...]
    steps: int  # diffusion's steps
    runs: tuple[FamilyRun, ...]  # VAE, GAN, diffusion (N steps), diffusion (1 step, same static)
    speed_rows: list[list[str]]  # under SPEED_HEADERS, one row per run
    quality_rows: list[list[str]]  # under QUALITY_HEADERS, one row per family, from the model cards
    family_rows: list[list[str]]  # under FAMILY_HEADERS: "learned by", "random numbers in"
    no_contest: str  # the sentence on diffusion: no contest, no single latent point
    quality_note: str  # what the numbers are, and how to measure the missing ones
    steps_figure: go.Figure | None  # diffusion's quality against the number of steps (card); None if missing
    steps_note: str  # why the figure is missing; "" when it is there
    steps_pair: np.ndarray  # (H, W) uint8, the first seed's static after 1 step and after ``steps``


def compare(dataset: str = "fashion", class_name: str | int | None = None, seeds: int = DEFAULT_SEEDS,
            first_seed: int = 0, steps: int = DEFAULTS.steps) -> CompareResult:
    """Seeds first_seed … first_seed + seeds − 1 of ``class_name`` (None = the first class) from each family."""
    info = dataset_info(dataset)
    label = class_choice(info.key, class_name)
    seed_list = _seeds(seeds, first_seed)
    settings = live(replace(DEFAULTS, steps=steps))
    _check_cost(len(seed_list), settings.steps)
    for family in ("vae", "gan", "diffusion"):
        registry.get(info.key, family)  # load first: loading is not generating, and a missing model fails fast
    runs = (_one_shot(info.key, "vae", label, seed_list), _one_shot(info.key, "gan", label, seed_list),
            _diffusion(info.key, label, seed_list, settings), _diffusion(info.key, label, seed_list,
                                                                         replace(settings, steps=1)))
    figure, steps_note = _steps_figure(info.key)
    numbers = random_numbers(info.key)
    return CompareResult(
        label=label, class_name=info.class_names[label], seeds=seed_list,
        steps=settings.steps, runs=runs,
        speed_rows=[_speed_row(run) for run in (runs if settings.steps > 1 else runs[:3])],  # 1 step: listed once
        quality_rows=[_quality_row(info.key, family) for family in ("vae", "gan", "diffusion")],
        quality_note=_quality_note(info.key), steps_figure=figure, steps_note=steps_note,
        family_rows=[["learned by", *(LEARNED_BY[f] for f in ("vae", "gan", "diffusion"))],
                     ["random numbers in", *(f"{numbers[f]}" for f in ("vae", "gan", "diffusion"))]],
        no_contest=_no_contest(numbers),
        steps_pair=headroom(plots.strip([runs[3].images[0], runs[2].images[0]],
                                        labels=["1 step", runs[2].title.removeprefix("Diffusion, ")],
                                        size=3 * TILE)),
    )


def random_numbers(dataset: str) -> dict[str, int]:
    """How many random numbers go into one picture: the VAE's and GAN's noise sizes, diffusion's static
    (one per pixel; the default sampler adds no fresh noise on the way)."""
    pixels = math.prod(IMAGE_SHAPE)
    return {"vae": one_shot.noise_dim(dataset, "vae"), "gan": one_shot.noise_dim(dataset, "gan"), "diffusion": pixels}


def _no_contest(numbers: dict[str, int]) -> str:
    return (f"Diffusion has no contest and no single hidden point: it never played against a critic, and no short "
            f"code (like the VAE's {numbers['vae']} numbers or the GAN's {numbers['gan']}) stands behind a picture. "
            f"It starts from {numbers['diffusion']} random numbers, one per pixel of the static, and cleans them up "
            f"a step at a time.")


def _check_cost(pictures: int, steps: int) -> None:
    """At most MAX_PICTURE_STEPS diffusion pictures × steps in one comparison (5× the default's), else a ValueError."""
    if pictures * steps > MAX_PICTURE_STEPS:
        raise ValueError(f"One comparison may make at most {MAX_PICTURE_STEPS} diffusion picture-steps (pictures × "
                         f"steps: 5× the default {DEFAULT_SEEDS} × {DEFAULTS.steps}), so that no request holds the "
                         f"model for the whole class; {pictures} × {steps} is {pictures * steps}. Use fewer "
                         f"pictures or steps.")


def _seeds(count, first_seed) -> tuple[int, ...]:
    return seed_run(first_seed, whole_number(count, "The number of seeds", 1, MAX_SEEDS))


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _one_shot(dataset: str, family: str, label: int, seeds: tuple[int, ...]) -> FamilyRun:
    """VAE: decode a code from p(z | y); GAN: generate from z ~ N(0, I). One batched pass, timed and counted."""
    z = one_shot.noise_for_seeds(seeds, one_shot.noise_dim(dataset, family))  # (N, dim)
    y = torch.full((len(seeds),), label, dtype=torch.long)  # (N,)
    start = time.perf_counter()
    with one_shot.counting_passes(dataset, family) as passes:
        out = one_shot.sample(dataset, family, z, y)  # (N, 1, 28, 28)
        _synchronize(out.device)
    seconds = time.perf_counter() - start
    return _run(family, FAMILY_TITLES[family], to_uint8(out), seeds, passes[0], seconds)


def _diffusion(dataset: str, label: int, seeds: tuple[int, ...], settings) -> FamilyRun:
    """The default sampler from seed s's own static (as in "Remove noise"), timed and counted."""
    model = denoiser.get(dataset)
    start = time.perf_counter()
    with model.counting_passes() as passes:
        last = None
        for last in model.steps([label] * len(seeds), list(seeds), settings):
            pass
        _synchronize(model.device)
    seconds = time.perf_counter() - start
    title = f"Diffusion, {settings.steps} step{'s' if settings.steps > 1 else ''}"
    return _run("diffusion", title, to_uint8(last.x_next.clamp(-1, 1)), seeds, passes[0], seconds)


def _run(family: str, title: str, images: np.ndarray, seeds: tuple[int, ...], passes: int,
         seconds: float) -> FamilyRun:
    images.setflags(write=False)
    n = len(seeds)
    return FamilyRun(family=family, title=title, images=images,
                     strip=headroom(plots.strip(images, labels=[f"seed {s}" for s in seeds], size=TILE)),
                     passes_per_image=passes / n, ms_per_image=1000 * seconds / n)


def _speed_row(run: FamilyRun) -> list[str]:
    how = {"vae": "decodes a random code drawn for the class", "gan": "turns random noise into a picture",
           "diffusion": "removes noise step by step"}[run.family]
    return [run.title, how, f"{run.passes_per_image:g}", f"{run.ms_per_image:.1f}"]


# ----------------------------------------------------------------------------- the model cards

def _card(dataset: str, family: str) -> dict:
    return cards.read_metrics(registry.MODEL_STORE / registry.model_name(dataset, family))


def _quality_row(dataset: str, family: str) -> list[str]:
    """Recognition, Fréchet distance (with the real-vs-real floor), variety ratio, from the card."""
    measured = _card(dataset, family).get("quality_at_defaults")
    title = FAMILY_TITLES[family]
    if not isinstance(measured, dict):
        return [title, NOT_MEASURED, NOT_MEASURED, NOT_MEASURED, NOT_MEASURED]

    def number(key: str, form: str) -> str:
        value = measured.get(key)
        return form.format(value) if isinstance(value, (int, float)) else NOT_MEASURED

    frechet = number("frechet", "{:.2f}")
    if frechet != NOT_MEASURED:
        frechet += number("frechet_real_vs_real", " ({:.2f})").replace(NOT_MEASURED, "")
    return [title, number("recognition", "{:.0%}"), frechet, number("variety_ratio", "{:.2f}"),
            number("n_images", "{:.0f}")]


def _quality_note(dataset: str) -> str:
    missing = [family for family in ("vae", "gan", "diffusion")
               if not isinstance(_card(dataset, family).get("quality_at_defaults"), dict)]
    note = ("Measured earlier on many pictures of every class, scored by the judge: recognised = the judge names "
            "the class asked for; distance from real pictures = how far the whole set of made pictures is from real "
            "test pictures, as the judge sees them (lower is better; two different sets of real pictures are the "
            "number in brackets apart); variety = how different the pictures of one class are, real pictures = 1.")
    if missing:
        runs = "; ".join(EVALUATE_COMMAND.format(dataset=dataset, family=f) for f in missing)
        note += f" {', '.join(FAMILY_TITLES[f] for f in missing)}: {NOT_MEASURED} — run {runs}"
    return note


DISTANCE_TRACE = "distance from real ÷ real vs real (right, lower is better)"


def _steps_figure(dataset: str) -> tuple[go.Figure | None, str]:
    """Diffusion's recognition, variety and Fréchet ratio against the number of steps (log x), from the card."""
    sweep = _card(dataset, "diffusion").get("steps_sweep")
    points = sorted((p for p in sweep if isinstance(p, dict) and isinstance(p.get("steps"), (int, float))),
                    key=lambda p: p["steps"]) if isinstance(sweep, list) else []
    if not points:
        command = EVALUATE_COMMAND.format(dataset=dataset, family="diffusion") + " --sweep steps"
        return None, f"Diffusion's quality against the number of steps is {NOT_MEASURED} — run {command}"
    steps = [p["steps"] for p in points]
    figure = plots.line_figure(steps, {
        "recognised by the judge": [p.get("recognition", math.nan) for p in points],
        "variety (real = 1)": [p.get("variety_ratio", math.nan) for p in points],
        DISTANCE_TRACE: [p.get("frechet_ratio", math.nan) for p in points],
    }, title="Diffusion: quality vs steps", xaxis="number of steps (measured earlier)",
        yaxis="recognised · variety")
    figure.update_traces(mode="lines+markers")
    figure.update_traces(yaxis="y2", selector=dict(name=DISTANCE_TRACE))
    figure.update_layout(xaxis=dict(type="log", tickvals=steps, ticktext=[f"{k:g}" for k in steps]),
                         yaxis2=dict(overlaying="y", side="right", showgrid=False, automargin=True,
                                     title=dict(text="distance ÷ real vs real")))
    return figure, ""
