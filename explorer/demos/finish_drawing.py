"""The "Finish my drawing" demo on the Remove-noise tab: noise a picture part of the way, then let the
denoiser finish it from there (what papers call SDEdit).

Owns: checking the section's arguments (the picture — a student's drawing or upload, already turned into a
28×28 picture by explorer.uploads, or a shipped real picture —, a class or ``NO_CLASS``, k and a seed);
``finish_drawing_stream`` (a few progress frames, then a ``FinishResult``) and ``finish_drawing`` (drained): the
picture is noised to k steps of the denoiser's own schedule (``q_sample`` to timestep k − 1) with the seed's
starting static — the very static a run from pure static with that seed starts from — and the sampler runs from
there down to 0 in a number of steps that grows with k (``run_steps``: the app's default steps at k = 1000);
the strip of the same picture finished from each of ``STRIP_KS`` with the same static; the judge's verdict and
how much of the picture survived; bounded caches of runs and results.
What "equals" means at the ends: at k = 1000 the run's timesteps are exactly those of a run from pure static,
and its start differs from that run's static by √ᾱ·(picture − static) at the last step (√ᾱ ≈ 5e-5 for the
cosine schedule), so the finished picture matches the one made from pure static with the same seed and settings
to within 2 grey levels of 255 in any pixel (the tiny difference at the start grows a little over 16 steps); at
k = 0 nothing is noised and the picture comes back unchanged, with no network call.
Does not know: the UI, how drawings are decoded (explorer.uploads), the sampling maths (explorer.samplers,
through explorer.denoiser).
"""

from __future__ import annotations

import math
from collections.abc import Generator, Iterator
from dataclasses import dataclass, replace

import numpy as np
import torch

from explorer import denoiser, plots, prompts, registry
from explorer.checks import MAX_SEED, whole_number
from explorer.data import class_index, dataset_info, to_model_range, to_uint8
from explorer.demos import add_noise
from explorer.demos.cache import LRUCache
from explorer.demos.framing import headroom
from explorer.metrics import judge_outputs
from explorer.samplers import Step
from explorer.sampling import DEFAULTS, SamplingSettings, starting_static
from explorer.schedules import NUM_TIMESTEPS, q_sample
from explorer.uploads import MIN_CONTRAST, BlankImageError

NO_CLASS = "none"  # the class choice that means "told nothing": the network finishes it unconditionally
MAX_K = NUM_TIMESTEPS  # k = 1000: pure static (the picture is gone)
DEFAULT_K = 500
STRIP_KS = (200, 500, 800)  # the strip: the same picture finished from each, with the same static
MAX_STREAMED_FRAMES = 4  # progress frames per run (the last step is left to the result)
TILE = 168  # px of each picture in the pair (noised | finished)
STRIP_TILE = 84
RUN_CACHE_SIZE = 256  # finished runs kept (each ~1 kB per step)
CACHE_SIZE = 64  # finished results kept


@dataclass(frozen=True)
class FinishFrame:
    """Progress while the sampler runs. Images (28, 28) uint8."""

    step: int  # steps done: 1 … steps
    steps: int
    x_t: np.ndarray  # the picture going into this step
    x0: np.ndarray  # the network's guess of the finished picture


@dataclass(frozen=True, eq=False)
class FinishResult:
    """A finished request. Images (28, 28) uint8 unless said otherwise."""

    dataset: str
    picture: str  # "real picture #3 (Dress)" or "your picture"
    label: int | None  # the class the network was told; None = told nothing
    class_name: str | None
    k: int  # noising steps done before finishing (0 … 1000)
    seed: int
    steps: int  # network steps of the run (0 at k = 0)
    guidance: float  # 0 when no class was told
    ts: np.ndarray  # (steps,) int, the timestep of each step (k − 1 first)
    drawing: np.ndarray  # the picture given
    noised: np.ndarray  # the picture after k noising steps: where the run starts
    x_t: np.ndarray  # (steps, 28, 28) uint8, the picture going into each step
    x0: np.ndarray  # (steps, 28, 28) uint8, the network's guess of the finished picture at each step
    final: np.ndarray  # the finished picture (the drawing itself at k = 0)
    likeness: float  # pixel correlation of final and drawing (1 = the same picture, 0 = unrelated)
    judged_name: str  # the judge's top class for the final picture
    judged_confidence: float  # ... and its probability
    asked_confidence: float | None  # the judge's probability of the class told (None when no class)
    pair: np.ndarray  # (H, W) uint8: drawing | noised | finished, labelled (a white band on top: framing.headroom)
    strip_ks: tuple[int, ...]
    strip_noised: np.ndarray  # (n, 28, 28) uint8, the picture noised to each of strip_ks (the same static)
    strip_finals: np.ndarray  # (n, 28, 28) uint8, finished from each
    strip_likeness: np.ndarray  # (n,) float, likeness of each to the drawing
    strip_judged: tuple[str, ...]  # the judge's top class for each
    strip: np.ndarray  # (H, W) uint8: rows noised / finished, one column per k (a white band on top)
    cached: bool  # True when this came from the cache without running the network


@dataclass(frozen=True)
class _Run:
    """One finished reverse run of one picture from one k (the cached unit)."""

    ts: np.ndarray  # (steps,) int
    x_t: np.ndarray  # (steps, 28, 28) uint8
    x0: np.ndarray  # (steps, 28, 28) uint8
    noised: np.ndarray  # (28, 28) uint8
    final: torch.Tensor  # (1, 1, 28, 28) float32 in [-1, 1]


def finish_drawing_stream(dataset: str = "fashion", gallery_index: int = 0, image: np.ndarray | None = None,
                          class_name: str | int | None = NO_CLASS, k: int = DEFAULT_K, seed: int = 0,
                          ) -> Iterator[FinishFrame | FinishResult]:
    """Check the arguments now (ValueError), then stream ``FinishFrame``s and last a ``FinishResult``.

    ``image`` (28, 28) uint8 (a drawing or an upload) overrides the gallery picture ``gallery_index``;
    ``class_name`` None, "" or NO_CLASS: no class (no guidance); otherwise a class name or index.
    """
    info = dataset_info(dataset)
    clean = add_noise.clean_picture(info.key, gallery_index, image)
    if image is not None:
        _check_not_blank(clean.image)
    label = check_class(info.key, class_name)
    k = whole_number(k, "k", 0, MAX_K, "noising steps: 0 keeps the picture, 1000 leaves only static")
    seed = whole_number(seed, "The seed", 0, MAX_SEED, "any seed gives different static")
    return _stream((info.key, clean.image.tobytes(), label, k, seed), clean)


def finish_drawing(dataset: str = "fashion", gallery_index: int = 0, image: np.ndarray | None = None,
                   class_name: str | int | None = NO_CLASS, k: int = DEFAULT_K, seed: int = 0) -> FinishResult:
    """``finish_drawing_stream`` drained: the ``FinishResult``."""
    result = None
    for result in finish_drawing_stream(dataset, gallery_index, image, class_name, k, seed):
        pass
    return result


def check_class(dataset: str, class_name) -> int | None:
    """A class name or index → its index; None, "" or NO_CLASS → None (no class). Unknown: ValueError."""
    if class_name is None or (isinstance(class_name, str) and class_name.strip().lower() in ("", NO_CLASS)):
        return None
    return class_index(dataset_info(dataset), class_name)


def run_steps(k: int) -> int:
    """Network steps to finish a picture noised k steps: the default steps' share of k (at least 1; 0 at k = 0)."""
    return 0 if k == 0 else max(1, math.ceil(DEFAULTS.steps * k / NUM_TIMESTEPS))


def likeness(a: torch.Tensor, b: torch.Tensor) -> float:
    """Pixel correlation of two pictures (1, 1, 28, 28): 1 = the same picture, about 0 = unrelated."""
    a, b = a.flatten().double(), b.flatten().double()
    a, b = a - a.mean(), b - b.mean()
    norm = float(a.norm() * b.norm())
    return float((a @ b) / norm) if norm > 0 else 0.0


def _check_not_blank(image: np.ndarray) -> None:
    if (int(image.max()) - int(image.min())) / 255 < MIN_CONTRAST:
        raise BlankImageError("The drawing is blank: draw something (big and bold) first.")


# ----------------------------------------------------------------------------- the runs

_RUNS: LRUCache[tuple, _Run] = LRUCache(RUN_CACHE_SIZE)
_CACHE: LRUCache[tuple, FinishResult] = LRUCache(CACHE_SIZE)


def _stream(key: tuple, clean: add_noise.CleanPicture) -> Iterator[FinishFrame | FinishResult]:
    result = _CACHE.get(key)
    if result is None:
        result = yield from _compute(key, clean)
        _CACHE.put(key, replace(result, cached=True))
    yield result


def _compute(key: tuple, clean: add_noise.CleanPicture) -> Generator[FinishFrame, None, FinishResult]:
    dataset, _, label, k, seed = key
    judge = registry.judge(dataset)  # before sampling: a missing judge fails fast
    main = yield from _run(dataset, clean.image, label, k, seed, stream=True)
    strip = [_run_now(dataset, clean.image, label, strip_k, seed) for strip_k in STRIP_KS]
    drawing = to_model_range(clean.image[None])  # (1, 1, 28, 28)
    finals = torch.cat([main.final, *(run.final for run in strip)])  # (1 + n, 1, 28, 28)
    probs = judge_outputs(judge, finals)[0].double().numpy()  # (1 + n, C)
    return _result(dataset, clean, label, k, seed, main, strip, drawing, finals, probs)


def _run_now(dataset: str, image: np.ndarray, label: int | None, k: int, seed: int) -> _Run:
    """``_run`` drained (no frames)."""
    generator = _run(dataset, image, label, k, seed, stream=False)
    try:
        while True:
            next(generator)
    except StopIteration as done:
        return done.value


def _run(dataset: str, image: np.ndarray, label: int | None, k: int, seed: int,
         stream: bool) -> Generator[FinishFrame, None, _Run]:
    """Noise ``image`` to k with the seed's static and finish it (cached per picture, class, k and seed)."""
    key = (dataset, image.tobytes(), label, k, seed)
    cached = _RUNS.get(key)
    if cached is not None:
        return cached
    model = denoiser.get(dataset)
    x0 = to_model_range(image[None])  # (1, 1, 28, 28) in [-1, 1]
    if k == 0:
        empty = np.zeros((0, 28, 28), np.uint8)
        run = _Run(np.zeros(0, int), empty, empty, image.copy(), x0)
    else:
        static, _ = starting_static(seed, 1, torch.device("cpu"))  # (1, 1, 28, 28): a pure-static run's start
        x_k = q_sample(model.schedule, x0, torch.tensor([k - 1]), static).float()  # (1, 1, 28, 28)
        steps = run_steps(k)
        settings = SamplingSettings(steps=steps, guidance=DEFAULTS.guidance if label is not None else 0.0)
        every = math.ceil(steps / MAX_STREAMED_FRAMES)
        x_t, x0s, ts = [], [], []  # per step: (28, 28) tensors, and ints
        last: Step | None = None
        for last in model.steps(None if label is None else [label], seed, settings, start=x_k, start_t=k - 1):
            x_t.append(last.x_t[0, 0].cpu())
            x0s.append(last.x0[0, 0].cpu())
            ts.append(last.t)
            if stream and last.index % every == 0 and last.index < steps - 1:
                yield FinishFrame(last.index + 1, steps, to_uint8(last.x_t.cpu())[0], to_uint8(last.x0.cpu())[0])
        run = _Run(np.array(ts), to_uint8(torch.stack(x_t)), to_uint8(torch.stack(x0s)), to_uint8(x_k)[0],
                   last.x_next.clamp(-1, 1).float().cpu())
    for array in (run.ts, run.x_t, run.x0, run.noised):
        array.setflags(write=False)  # shared through the cache
    _RUNS.put(key, run)
    return run


# ----------------------------------------------------------------------------- the result

def _result(dataset: str, clean: add_noise.CleanPicture, label: int | None, k: int, seed: int, main: _Run,
            strip: list[_Run], drawing: torch.Tensor, finals: torch.Tensor, probs: np.ndarray) -> FinishResult:
    names = dataset_info(dataset).class_names
    final = to_uint8(main.final)[0]
    alike = np.array([likeness(f[None], drawing) for f in finals])  # (1 + n,)
    strip_noised = np.stack([run.noised for run in strip])  # (n, 28, 28)
    strip_finals = to_uint8(finals[1:])  # (n, 28, 28)
    top = probs.argmax(axis=1)  # (1 + n,)
    for array in (final, alike, strip_noised, strip_finals):
        array.setflags(write=False)
    return FinishResult(
        dataset=dataset, picture=clean.description, label=label, class_name=None if label is None else names[label],
        k=k, seed=seed, steps=len(main.ts), guidance=DEFAULTS.guidance if label is not None and k > 0 else 0.0,
        ts=main.ts, drawing=clean.image, noised=main.noised, x_t=main.x_t, x0=main.x0, final=final,
        likeness=float(alike[0]), judged_name=names[top[0]], judged_confidence=float(probs[0, top[0]]),
        asked_confidence=None if label is None else float(probs[0, label]),
        pair=headroom(plots.strip([clean.image, main.noised, final],
                                  labels=["the picture", f"noised to k = {k}", "finished"], size=TILE)),
        strip_ks=STRIP_KS, strip_noised=strip_noised, strip_finals=strip_finals, strip_likeness=alike[1:],
        strip_judged=tuple(names[i] for i in top[1:]),
        strip=headroom(plots.labelled_grid(np.stack([strip_noised, strip_finals]),
                                           [f"k = {s}: {a:.2f}" for s, a in zip(STRIP_KS, alike[1:])],
                                           ["noised", "finished"], size=STRIP_TILE)),
        cached=False,
    )


def verdict(result: FinishResult) -> str:
    """The result in words: how like the picture the finished one still is, and what the judge sees."""
    judge = f"the judge sees **{prompts.with_article(result.judged_name)}** ({result.judged_confidence:.0%} sure)"
    if result.asked_confidence is not None:
        judge += f", {prompts.with_article(result.class_name)}: {result.asked_confidence:.0%}"
    told = "no class" if result.label is None else f"told: {result.class_name}"
    return (f"**From k = {result.k}** ({told}, seed {result.seed}): likeness to "
            f"{result.picture} **{result.likeness:.2f}**; {judge}.")
