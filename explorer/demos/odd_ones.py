"""The "Odd ones out" demo on the Mistakes tab: does the diffusion model know when it draws something wrong?

Owns: ``odd_ones_out`` (ODD_BATCH pictures of one class in ONE batched run, one seed each, made by the
full model or by its fast copy (``MADE_BY``: the family "distilled", default where one is shipped); the
judge's SHOWN least convinced ones, each beside its NEIGHBOURS nearest pictures of the shipped training subset
by pixel distance; how crisply the odd ones and the others are drawn; how far the nearest training
picture is, against how far apart two real pictures of the class usually are), the sentences those numbers
decide, and the bounded cache of finished runs.
Does not know: the UI, the network (explorer.denoiser runs it). The training subset is read by explorer.neighbours;
pictures are drawn by explorer.plots.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from explorer import denoiser, neighbours, plots, registry
from explorer.data import dataset_info, to_uint8
from explorer.demos.cache import LRUCache
from explorer.demos.choices import class_choice, seed_run
from explorer.demos.framing import headroom
from explorer.metrics import judge_outputs
from explorer.sampling import DEFAULTS

ODD_BATCH = 64  # pictures made, one seed each
SHOWN = 8  # odd ones shown
NEIGHBOURS = 3  # training pictures shown beside each
CACHE_SIZE = 8
TILE = 84  # px of a picture in the labelled pictures
CRISP_MARGIN = 0.15  # crispness within ±15 % of the others' counts as "as crisp"
NEAR_COPY = 0.05  # a distance below this to a training picture is called a near copy
HIGHLIGHT = (255, 140, 0)  # frame of the odd ones in the overview (orange: visible on black and white)
MADE_BY = {"fast copy": "distilled", "full model": "diffusion"}  # the choice on screen → the denoiser family


@dataclass(frozen=True)
class OddOnesResult:
    dataset: str
    made_by: str  # a MADE_BY key
    label: int
    class_name: str
    seeds: tuple[int, ...]  # ODD_BATCH seeds, one per picture
    images: np.ndarray  # (ODD_BATCH, 28, 28) uint8
    probability: np.ndarray  # (ODD_BATCH,) the judge's probability of the class asked for
    judge_top: np.ndarray  # (ODD_BATCH,) the judge's top class
    odd: np.ndarray  # (SHOWN,) indices of the pictures the judge finds least like the class, least first
    recognised: int  # pictures whose top judge class is the class asked for
    overview: np.ndarray  # (H, W, 3) uint8: all pictures, the odd ones framed
    odd_picture: np.ndarray  # (H, W) uint8: each odd one beside its nearest training pictures
    neighbour_distances: np.ndarray  # (SHOWN, NEIGHBOURS) to the nearest training pictures, nearest first
    typical_distance: float  # median distance of a real training picture of the class to its nearest other one
    subset_size: int  # training pictures searched
    total_train: int  # pictures in the full training split
    sentences: tuple[str, ...]  # the plain conclusions, each computed from the numbers above
    rows: list[list[str]]  # one row per odd one: seed, judge says, probability of the class, nearest classes, distance
    seconds: float
    cached: bool


@dataclass(frozen=True, eq=False)
class _OddRun:
    images: np.ndarray
    probs: np.ndarray  # (ODD_BATCH, C)
    seconds: float


_CACHE: LRUCache[tuple, _OddRun] = LRUCache(CACHE_SIZE)


def odd_ones_out(dataset: str = "fashion", class_name: str | int | None = None, first_seed: int = 0,
                 made_by: str | None = None) -> OddOnesResult:
    """ODD_BATCH pictures of ``class_name`` (seeds first_seed …), the SHOWN least convincing ones and their
    neighbours; ``made_by``: a MADE_BY key (None: ``default_made_by``)."""
    info = dataset_info(dataset)
    label = class_choice(info.key, class_name)
    seeds = seed_run(first_seed, ODD_BATCH)
    made_by = _made_by(info.key, made_by)
    subset = neighbours.load(info.key)  # before sampling: a missing file fails fast
    key = (info.key, label, seeds, made_by)
    run = _CACHE.get(key)
    cached = run is not None
    if run is None:
        run = _odd_run(info.key, label, seeds, MADE_BY[made_by])
        _CACHE.put(key, run)
    return _odd_result(info.key, made_by, label, seeds, run, subset, cached)


def shipped_makers(dataset: str) -> list[str]:
    """The MADE_BY choices whose model is shipped for ``dataset`` (the full model always is)."""
    return [name for name, family in MADE_BY.items() if registry.is_shipped(dataset, family)]


def default_made_by(dataset: str) -> str:
    """The fast copy where one is shipped (64 pictures in about a quarter of the time), else the full model."""
    return shipped_makers(dataset)[0]


def _made_by(dataset: str, made_by: str | None) -> str:
    if made_by in (None, ""):
        return default_made_by(dataset)
    if made_by not in MADE_BY:
        raise ValueError(f"Made by must be one of: {', '.join(MADE_BY)}; got {made_by!r}.")
    shipped = shipped_makers(dataset)
    if made_by not in shipped:
        raise ValueError(f"No {made_by} of the {dataset_info(dataset).title} model is shipped; choose: "
                         f"{', '.join(shipped)}.")
    return made_by


def _odd_run(dataset: str, label: int, seeds: tuple[int, ...], family: str) -> _OddRun:
    start = time.perf_counter()
    judge = registry.judge(dataset)
    model = denoiser.get(dataset, family=family)
    finals = model.images([label] * len(seeds), list(seeds), DEFAULTS)  # (N, 1, 28, 28), one batch
    probs, _ = judge_outputs(judge, finals)  # (N, C)
    run = _OddRun(images=to_uint8(finals), probs=probs.double().numpy(), seconds=time.perf_counter() - start)
    for array in (run.images, run.probs):
        array.setflags(write=False)
    return run


def crispness(images: np.ndarray) -> float:
    """Mean brightness jump (0 … 1) between neighbouring pixels, across and down, of uint8 pictures (N, 28, 28)."""
    x = images.astype(np.float64) / 255.0
    return float((np.abs(np.diff(x, axis=1)).mean() + np.abs(np.diff(x, axis=2)).mean()) / 2)


def _odd_result(dataset: str, made_by: str, label: int, seeds, run: _OddRun, subset: neighbours.TrainingSubset,
                cached: bool) -> OddOnesResult:
    info = dataset_info(dataset)
    probability = run.probs[:, label]
    odd = np.argsort(probability, kind="stable")[:SHOWN]  # least like the class first
    rest = np.setdiff1d(np.arange(len(seeds)), odd)
    index, distance = neighbours.nearest(run.images[odd], subset, NEIGHBOURS)  # (SHOWN, k) each
    top = run.probs.argmax(1)
    crisp_odd, crisp_rest = crispness(run.images[odd]), crispness(run.images[rest])
    typical = float(subset.typical_distance[label])
    neighbour_labels = subset.labels[index]
    rows = [[f"{seeds[i]}", f"{info.class_names[top[i]]} {run.probs[i, top[i]]:.0%}", f"{probability[i]:.0%}",
             _counted(info.class_names, neighbour_labels[r]), f"{distance[r, 0]:.2f}"] for r, i in enumerate(odd)]
    return OddOnesResult(
        dataset=dataset, made_by=made_by, label=label, class_name=info.class_names[label], seeds=seeds,
        images=run.images, probability=probability, judge_top=top, odd=odd, recognised=int((top == label).sum()),
        overview=headroom(_overview(run.images, odd)),
        odd_picture=headroom(_odd_picture(run.images[odd], [seeds[i] for i in odd], subset.images[index], distance)),
        neighbour_distances=distance, typical_distance=typical, subset_size=len(subset.images),
        total_train=subset.total_train,
        sentences=_odd_sentences(info.class_names[label], crisp_odd, crisp_rest, distance[:, 0], typical,
                                 [seeds[i] for i in odd]),
        rows=rows, seconds=run.seconds, cached=cached,
    )


def _counted(class_names: Sequence[str], labels: np.ndarray) -> str:
    """Classes (k,) → "2 Shirt, 1 Coat" (most frequent first, then in order of appearance)."""
    counts: dict[int, int] = {}
    for c in labels.tolist():
        counts[c] = counts.get(c, 0) + 1
    return ", ".join(f"{n} {class_names[c]}" for c, n in sorted(counts.items(), key=lambda cn: -cn[1]))


def _odd_sentences(class_name: str, crisp_odd: float, crisp_rest: float, nearest: np.ndarray, typical: float,
                   odd_seeds: list[int]) -> tuple[str, ...]:
    """The tab's conclusions, each chosen by the numbers (so none can be false for these pictures)."""
    ratio = crisp_odd / crisp_rest if crisp_rest > 0 else math.inf
    if abs(ratio - 1) <= CRISP_MARGIN:
        crisp = (f"The odd ones are drawn as crisply as the good ones: crispness {crisp_odd:.3f} against "
                 f"{crisp_rest:.3f}. The model does not hesitate when it gets it wrong.")
    elif ratio > 1:
        crisp = (f"The odd ones are drawn even more crisply than the good ones: crispness {crisp_odd:.3f} "
                 f"against {crisp_rest:.3f}. The model does not hesitate when it gets it wrong.")
    else:
        crisp = (f"This time the odd ones are drawn less crisply than the good ones: crispness {crisp_odd:.3f} "
                 f"against {crisp_rest:.3f}. Try another class or seed: often they are just as crisp.")
    closest = int(np.argmin(nearest))
    if nearest[closest] < NEAR_COPY:
        copy = (f"One comes close to copying: seed {odd_seeds[closest]} is {nearest[closest]:.2f} from a training "
                f"picture (0 would be an exact copy). Two different real {class_name} pictures are typically "
                f"{typical:.2f} apart.")
    else:
        copy = (f"None copies a shipped training picture: the nearest one is {np.median(nearest):.2f} away on average "
                f"(closest {nearest[closest]:.2f}; 0 would be an exact copy), while two different real "
                f"{class_name} pictures are typically {typical:.2f} apart.")
    return crisp, copy


def _overview(images: np.ndarray, odd: np.ndarray, tile: int = 40, gap: int = 4, columns: int = 8) -> np.ndarray:
    """All pictures (N, 28, 28) in rows of ``columns``, the odd ones framed in HIGHLIGHT: (H, W, 3) uint8."""
    rows = math.ceil(len(images) / columns)
    step = tile + gap
    canvas = np.full((rows * step + gap, columns * step + gap, 3), plots.GAP_VALUE, dtype=np.uint8)
    for i, image in enumerate(images):
        top, left = gap + (i // columns) * step, gap + (i % columns) * step
        if i in set(odd.tolist()):
            canvas[top - gap:top + tile + gap, left - gap:left + tile + gap] = HIGHLIGHT
        canvas[top:top + tile, left:left + tile] = plots.upscale(image, tile)[..., None]
    return canvas


def _odd_picture(odd_images: np.ndarray, odd_seeds: list[int], neighbour_images: np.ndarray,
                 distance: np.ndarray, per_column: int = 4) -> np.ndarray:
    """Rows of [odd picture | its nearest training pictures], labelled; two such columns side by side."""
    strips = [plots.strip([made, *near], labels=[f"seed {seed}", *(f"{d:.2f}" for d in dists)], size=TILE)
              for made, seed, near, dists in zip(odd_images, odd_seeds, neighbour_images, distance)]
    halves = [strips[i:i + per_column] for i in range(0, len(strips), per_column)]
    columns = [_stack(half) for half in halves]
    height = max(c.shape[0] for c in columns)
    columns = [np.pad(c, ((0, height - c.shape[0]), (0, 0)), constant_values=255) for c in columns]
    spacer = np.full((height, TILE // 2), 255, dtype=np.uint8)
    parts = [part for column in columns for part in (column, spacer)][:-1]
    return np.concatenate(parts, axis=1)


def _stack(pictures: list[np.ndarray], gap: int = 8) -> np.ndarray:
    band = np.full((gap, pictures[0].shape[1]), 255, dtype=np.uint8)
    return np.concatenate([part for picture in pictures for part in (picture, band)][:-1])


