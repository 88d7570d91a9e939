"""The "Remove noise" demo: one picture made from pure static, step by step, and everything about it.

Owns: checking the tab's arguments and resolving what to draw (a prompt that names a class wins over
the chosen class; a prompt that names nothing runs unconditionally), ``remove_noise_stream`` (a handful
of progress frames while the sampler runs, then a complete ``RemoveNoiseResult``: x_t, the predicted
clean image x̂0 and the predicted noise of every step, the judge's confidence at each step, one jump
vs many steps, and a GIF and a PNG strip to download), ``remove_noise`` (the same, drained), the bounded
cache of finished results (a class clicking the same example computes it once; a hit runs nothing),
and the per-request folders of download files under ``FILES_ROOT`` (folders older than an hour are
removed).
Does not know: the UI. The sampling maths is explorer.samplers / explorer.sampling; the pictures are
drawn by explorer.plots.
"""

from __future__ import annotations

import math
import shutil
import tempfile
import time
from collections.abc import Generator, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import torch
from PIL import Image

from explorer import denoiser, plots, prompts, registry
from explorer.checks import check_seed
from explorer.data import class_index, dataset_info, to_uint8
from explorer.demos.cache import LRUCache
from explorer.metrics import judge_outputs
from explorer.prompts import is_blank, match_prompt
from explorer.samplers import Step
from explorer.sampling import DEFAULTS, SamplingSettings, live

# live frames per run, evenly spaced, the last step left to the result (which keeps every step)
MAX_STREAMED_FRAMES = 5
CACHE_SIZE = 64  # finished results kept in memory (each ~2.5 kB per step)
FILES_ROOT = Path(tempfile.gettempdir()) / "diffusion-explorer"  # per-request folders of downloads
MAX_FILE_AGE_S = 3600  # older request folders are deleted when a new one is written
PRUNE_EVERY_S = 60  # how often a new folder also looks for old ones to delete
_last_prune = [0.0]  # when it last did (time.time())
GIF_FRAMES = 50  # at most this many steps in the GIF (plus the final picture, held)
GIF_FRAME_MS = 120  # each step's frame in the GIF
GIF_HOLD_FRAMES = 12  # the final picture stays this many frames' time
GIF_TILE = 112  # px of each picture in a GIF frame (4 px per image pixel; the GIF's encoding cost grows with its area)
MARKED_STEPS = 50  # the confidence chart marks every step of runs up to this long
PNG_COMPRESS_LEVEL = 1  # zlib's fastest: 2 ms instead of 7 ms for the strip, 23 kB instead of 19 kB
STRIP_COLUMNS = 8  # steps shown in the PNG strip (plus the final picture)
STRIP_TILE = 84
COMPARISON_TILE = 3 * 84


@dataclass(frozen=True)
class RemoveNoiseFrame:
    """Progress while the sampler runs: the state at one step. Images (28, 28) uint8."""

    step: int  # steps done: 1 … steps
    steps: int
    t: int  # the schedule timestep of this step (999 = pure static)
    x_t: np.ndarray  # the image going into this step
    x0: np.ndarray  # the network's prediction of the clean image, x̂0
    noise: np.ndarray  # the static still in the picture √(1−ᾱ_t)·ε̂, mid-grey = 0


@dataclass(frozen=True, eq=False)
class RemoveNoiseResult:
    """A finished run. Per-step arrays have one row per step, in sampling order (pure static first)."""

    dataset: str  # "fashion" or "mnist"
    prompt: str  # as typed
    mapping: str  # what was drawn and why (prompt → class, the chosen class, or unconditional)
    label: int | None  # the class asked for; None = unconditional
    class_name: str | None
    seed: int
    sampler: str
    steps: int
    guidance: float  # 0 when unconditional (there is nothing to steer towards)
    eta: float  # 0 unless the sampler is DDIM (the others do not use it)
    ts: np.ndarray  # (steps,) int, the timestep of each step
    x_t: np.ndarray  # (steps, 28, 28) uint8, the image going into each step
    x0: np.ndarray  # (steps, 28, 28) uint8, predicted clean image x̂0 at each step
    noise: np.ndarray  # (steps, 28, 28) uint8, the static still in the picture √(1−ᾱ_t)·ε̂, mid-grey = 0
    final: np.ndarray  # (28, 28) uint8, the picture after the last step
    one_jump: np.ndarray  # (28, 28) uint8, x̂0 from pure static in one network call (= x0[0])
    judged_class: int  # the class whose probability ``confidence`` follows
    judged_name: str
    confidence: np.ndarray  # (steps,) float, the judge's probability of judged_class for x̂0
    final_confidence: float  # the same for the final picture
    judge_note: str  # what the chart shows, in words
    confidence_figure: go.Figure
    comparison: np.ndarray  # (H, W) uint8, one jump | final, labelled
    gif_path: Path  # x_t beside x̂0, step by step
    strip_path: Path  # PNG: x_t and x̂0 at a few steps
    cached: bool  # True when this came from the cache without running the model


@dataclass(frozen=True)
class _Request:
    """The validated, normalised arguments that decide the pictures: the cache key."""

    dataset: str
    label: int | None
    seed: int
    settings: SamplingSettings


def remove_noise_stream(dataset: str = "fashion", prompt: str = "", class_name: str | int | None = None,
                    seed: int = 0, sampler: str = DEFAULTS.sampler, steps: int = DEFAULTS.steps,
                    guidance: float = DEFAULTS.guidance, eta: float = DEFAULTS.eta,
                    ) -> Iterator[RemoveNoiseFrame | RemoveNoiseResult]:
    """Check the arguments now (ValueError), then stream ``RemoveNoiseFrame``s and last a ``RemoveNoiseResult``.

    ``class_name`` (a name or index; None = the first class) is used when ``prompt`` is blank. At most
    MAX_STREAMED_FRAMES frames are streamed, never the last step (the result follows at once and
    shows it). A request already answered is served from the cache: the stream then yields the
    result at once.
    """
    request, mapping = _request(dataset, prompt, class_name, seed, sampler, steps, guidance, eta)
    return _stream(request, str(prompt or ""), mapping)


def remove_noise(dataset: str = "fashion", prompt: str = "", class_name: str | int | None = None,
             seed: int = 0, sampler: str = DEFAULTS.sampler, steps: int = DEFAULTS.steps,
             guidance: float = DEFAULTS.guidance, eta: float = DEFAULTS.eta) -> RemoveNoiseResult:
    """``remove_noise_stream`` drained: the finished ``RemoveNoiseResult``."""
    result = None
    for result in remove_noise_stream(dataset, prompt, class_name, seed, sampler, steps, guidance, eta):
        pass
    return result


# ----------------------------------------------------------------------------- arguments

def _request(dataset, prompt, class_name, seed, sampler, steps, guidance, eta) -> tuple[_Request, str]:
    """The arguments, parsed once (what runs below trusts them) → the cache key and the sentence saying what will
    be drawn."""
    info = dataset_info(dataset)
    match = match_prompt(info.key, prompt)
    if match.class_index is not None:
        label, mapping = match.class_index, match.explanation
    elif is_blank(prompt):
        label = class_index(info, info.class_names[0] if class_name in (None, "") else class_name)
        mapping = f"No prompt: the chosen class, {info.class_names[label]}."
    else:
        label, mapping = None, match.explanation
    settings = live(SamplingSettings(sampler=sampler, steps=steps, guidance=guidance, eta=eta))
    settings = replace(settings, eta=settings.eta if settings.sampler == "ddim" else 0.0,
                       guidance=settings.guidance if label is not None else 0.0)
    return _Request(info.key, label, check_seed(seed), settings), mapping


# ----------------------------------------------------------------------------- the cache

_CACHE: LRUCache[_Request, RemoveNoiseResult] = LRUCache(CACHE_SIZE)


def _stream(request: _Request, prompt: str, mapping: str) -> Iterator[RemoveNoiseFrame | RemoveNoiseResult]:
    """Frames then the result for ``request``, or the cached result alone."""
    result = _CACHE.get(request)
    if result is None:
        result = yield from _compute(request)
        _CACHE.put(request, replace(result, cached=True))
    elif not (result.gif_path.exists() and result.strip_path.exists()):  # its folder was cleaned up
        result = replace(result, **_write_files(result.ts, result.x_t, result.x0, result.final))
        _CACHE.put(request, result)
    yield replace(result, prompt=prompt, mapping=mapping)


# ----------------------------------------------------------------------------- the run

def _compute(request: _Request) -> Generator[RemoveNoiseFrame, None, RemoveNoiseResult]:
    """Run the sampler for ``request``, yielding frames; return the finished result (not cached)."""
    settings = request.settings
    labels = None if request.label is None else [request.label]
    judge = registry.judge(request.dataset)  # before sampling: a missing judge fails fast
    every = math.ceil(settings.steps / MAX_STREAMED_FRAMES)
    x_t, x0, eps, ts = [], [], [], []  # per step: (28, 28) tensors, and ints
    last: Step | None = None
    model = denoiser.get(request.dataset)
    for last in model.steps(labels, request.seed, settings):
        x_t.append(last.x_t[0, 0])
        x0.append(last.x0[0, 0])
        eps.append(last.eps[0, 0])
        ts.append(last.t)
        if last.index % every == 0 and last.index < settings.steps - 1:
            yield RemoveNoiseFrame(last.index + 1, settings.steps, last.t, to_uint8(last.x_t)[0],
                               to_uint8(last.x0)[0], _noise_picture(model, last.eps, [last.t])[0])
    final = last.x_next.clamp(-1, 1)  # (1, 1, 28, 28)
    x0_all = torch.stack(x0)[:, None]  # (steps, 1, 28, 28)
    return _result(request, np.array(ts), to_uint8(torch.stack(x_t)), to_uint8(x0_all),
                   _noise_picture(model, torch.stack(eps), ts), to_uint8(final)[0], _judge(judge, x0_all, final))


def _noise_picture(model: denoiser.Denoiser, eps: torch.Tensor, ts: list[int]) -> np.ndarray:
    """Predicted noise (N, [1,] 28, 28), about N(0, 1), at timesteps ``ts`` → uint8 (N, 28, 28), mid-grey = 0:
    the static still in the picture, √(1−ᾱ_t)·ε̂, on the picture's own scale as on the Add-noise tab (at pure
    static it looks like the picture)."""
    left = (1 - model.schedule.alpha_bar[torch.tensor(ts)]).sqrt().to(eps)  # (N,)
    return to_uint8(eps * left.view(-1, *[1] * (eps.dim() - 1)))


def _judge(judge: torch.nn.Module, x0: torch.Tensor, final: torch.Tensor) -> np.ndarray:
    """The judge's class probabilities (steps + 1, C) for every x̂0 (steps, 1, 28, 28) and the final (1, 1, 28, 28)."""
    probs, _ = judge_outputs(judge, torch.cat([x0, final.to(x0.device)]))
    return probs.double().numpy()


def _result(request: _Request, ts: np.ndarray, x_t: np.ndarray, x0: np.ndarray, noise: np.ndarray,
            final: np.ndarray, probs: np.ndarray) -> RemoveNoiseResult:
    """Assemble a RemoveNoiseResult from the per-step pictures and the judge's probabilities (steps + 1, C)."""
    info = dataset_info(request.dataset)
    judged = request.label if request.label is not None else int(probs[-1].argmax())
    confidence = probs[:-1, judged]  # (steps,)
    for array in (ts, x_t, x0, noise, final, confidence):
        array.setflags(write=False)  # results are shared through the cache
    settings = request.settings
    return RemoveNoiseResult(
        dataset=info.key, prompt="", mapping="", label=request.label,
        class_name=None if request.label is None else info.class_names[request.label],
        seed=request.seed, sampler=settings.sampler, steps=settings.steps,
        guidance=settings.guidance, eta=settings.eta,
        ts=ts, x_t=x_t, x0=x0, noise=noise, final=final, one_jump=x0[0],
        judged_class=judged, judged_name=info.class_names[judged],
        confidence=confidence, final_confidence=float(probs[-1, judged]),
        judge_note=_judge_note(request.label is None, info.class_names[judged], confidence[0], probs[-1, judged]),
        confidence_figure=_confidence_figure(confidence, info.class_names[judged]),
        comparison=plots.strip([x0[0], final], labels=["one jump (1 network call)", f"{settings.steps} small steps"],
                               size=COMPARISON_TILE),
        cached=False,
        **_write_files(ts, x_t, x0, final),
    )


def _judge_note(unconditional: bool, name: str, one_jump: float, final: float) -> str:
    numbers = f"{one_jump:.0%} after one jump, {final:.0%} at the end"
    if unconditional:
        return f"No class was asked for; the chart follows the judge's pick for the final picture, {name}: {numbers}."
    return f"Sure it is {prompts.with_article(name)}: {numbers}."


def _confidence_figure(confidence: np.ndarray, name: str) -> go.Figure:
    """The judge's probability of ``name`` for x̂0 over the steps (steps,)."""
    steps = np.arange(1, confidence.shape[0] + 1)
    figure = plots.line_figure(steps, {f"P({name}) for x̂0": confidence},
                               title=f"Does the judge see {prompts.with_article(name)} in the guess?",
                               xaxis="step (1 = pure static)", yaxis="judge's probability")
    figure.update_yaxes(range=[0, 1.02])
    if confidence.shape[0] <= MARKED_STEPS:
        figure.update_traces(mode="lines+markers")  # a single step is a point, not a line
    return figure


# ----------------------------------------------------------------------------- files

def _write_files(ts: np.ndarray, x_t: np.ndarray, x0: np.ndarray, final: np.ndarray) -> dict[str, Path]:
    """The GIF and the PNG strip of a run, in a new request folder: {"gif_path": …, "strip_path": …}."""
    folder = _new_folder()
    frames = _gif_frames(x_t, x0, final)
    gif = plots.to_gif(frames, folder / "steps.gif",
                       duration_ms=[GIF_FRAME_MS] * (len(frames) - 1) + [GIF_FRAME_MS * GIF_HOLD_FRAMES])
    strip_path = folder / "steps.png"
    Image.fromarray(_strip_picture(ts, x_t, x0, final)).save(strip_path, compress_level=PNG_COMPRESS_LEVEL)
    return {"gif_path": gif, "strip_path": strip_path}


def _gif_frames(x_t: np.ndarray, x0: np.ndarray, final: np.ndarray) -> list[np.ndarray]:
    """x_t beside x̂0 at up to GIF_FRAMES evenly spaced steps, then the final picture (held: see _write_files)."""
    n = x_t.shape[0]
    picks = np.unique(np.linspace(0, n - 1, min(n, GIF_FRAMES)).round().astype(int))
    frames = [plots.strip([x_t[i], x0[i]], labels=[f"step {i + 1}/{n}: x_t", "predicted x0"], size=GIF_TILE)
              for i in picks]
    done = plots.strip([final, x0[-1]], labels=["final picture", "predicted x0"], size=GIF_TILE)
    return frames + [done]


def _strip_picture(ts: np.ndarray, x_t: np.ndarray, x0: np.ndarray, final: np.ndarray) -> np.ndarray:
    """Two labelled rows: x_t and x̂0 at STRIP_COLUMNS evenly spaced steps, each ending with the final picture."""
    picks = np.unique(np.linspace(0, x_t.shape[0] - 1, min(x_t.shape[0], STRIP_COLUMNS)).round().astype(int))
    top = plots.strip([*x_t[picks], final], labels=[*(f"x_t t={ts[i]}" for i in picks), "final"], size=STRIP_TILE)
    bottom = plots.strip([*x0[picks], final], labels=[*("predicted x0" for _ in picks), "final"], size=STRIP_TILE)
    gap = np.full((4, top.shape[1]), plots.GAP_VALUE, dtype=np.uint8)
    return np.concatenate([top, gap, bottom])


def _new_folder() -> Path:
    """A fresh folder under FILES_ROOT; folders older than MAX_FILE_AGE_S are deleted first (at most once
    every PRUNE_EVERY_S: looking through the folders takes longer than writing the files)."""
    FILES_ROOT.mkdir(parents=True, exist_ok=True)
    now = time.time()
    if now - _last_prune[0] >= PRUNE_EVERY_S:
        _last_prune[0] = now
        _prune(now - MAX_FILE_AGE_S)
    return Path(tempfile.mkdtemp(prefix="remove-noise-", dir=FILES_ROOT))


def _prune(cutoff: float) -> None:
    for old in FILES_ROOT.iterdir():
        try:
            if old.is_dir() and old.stat().st_mtime < cutoff:
                shutil.rmtree(old, ignore_errors=True)
        except FileNotFoundError:  # another request removed it first
            pass
