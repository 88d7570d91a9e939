"""Build the compact training subsets the app ships (``model_store/<dataset>-neighbours.npz``) and their card.

Owns: how the subset is chosen (PER_CLASS training pictures of every class, drawn uniformly at random
with a fixed seed, kept in training-file order), the per-class "typical distance" stored with it (the
median distance of a subset picture to its nearest other subset picture), and the card
``model_store/neighbours.md``, with a measurement of how much closer the full training split would
have been than the subset for pictures the app makes at its defaults.
Does not know: the UI. The app never imports this module (it reads the files through explorer.neighbours).

Run: ``python -m explorer.tools.neighbours [--per-class 500] [--seed 0] [--measure-per-class 64] [--data DIR]``
(needs the training data, ``../shared/data`` or ``$EXPLORER_DATA``; a few minutes on 2 CPU cores).
"""

from __future__ import annotations

import argparse
import platform
import time
from datetime import date

import numpy as np
import torch

from explorer import denoiser, neighbours
from explorer.data import DATASETS, load_split, to_uint8
from explorer.sampling import DEFAULTS

PER_CLASS = 500
SEED = 0
MEASURE_PER_CLASS = 64  # pictures made per class for the card's measurement (seeds 0 … 63, as the app's default)
CHUNK = 1000  # queries per distance block (bounded memory)


def choose(labels: np.ndarray, per_class: int, seed: int) -> np.ndarray:
    """Indices of ``per_class`` pictures of every class, uniformly at random (fixed seed), sorted."""
    rng = np.random.default_rng(seed)
    classes = np.unique(labels)
    return np.sort(np.concatenate([rng.choice(np.flatnonzero(labels == c), per_class, replace=False)
                                   for c in classes]))


def nearest_distance(queries: torch.Tensor, pool: torch.Tensor, exclude_self: bool = False) -> torch.Tensor:
    """For each query (Q, 784) its distance to the nearest pool picture (N, 784): (Q,)."""
    out = []
    for start in range(0, len(queries), CHUNK):
        d = neighbours.distances(queries[start:start + CHUNK], pool)  # (q, N)
        if exclude_self:
            rows = torch.arange(d.shape[0])
            d[rows, rows + start] = float("inf")
        out.append(d.min(1).values)
    return torch.cat(out)


def build(dataset: str, per_class: int = PER_CLASS, seed: int = SEED, data: str | None = None) -> dict:
    """Write ``model_store/<dataset>-neighbours.npz``; returns what the card says about it."""
    images, labels = load_split(dataset, "train", data)
    picks = choose(labels, per_class, seed)
    flat = neighbours.flatten(images[picks])
    own = nearest_distance(flat, flat, exclude_self=True).numpy()  # (N,)
    typical = np.array([np.median(own[labels[picks] == c]) for c in range(DATASETS[dataset].num_classes)])
    path = neighbours.write(neighbours.subset_path(dataset), images[picks], labels[picks], picks, typical,
                            len(images))
    return {"dataset": dataset, "path": path, "pictures": len(picks), "total": len(images),
            "bytes": path.stat().st_size, "typical": typical, "full_flat": neighbours.flatten(images),
            "subset_flat": flat}


def measure(built: dict, per_class: int) -> dict:
    """Pictures made at the app's defaults (seeds 0 … per_class−1 for every class): nearest in the subset vs
    in the whole training split."""
    dataset = built["dataset"]
    model = denoiser.get(dataset)
    made = []
    for c in range(DATASETS[dataset].num_classes):
        made.append(to_uint8(model.images([c] * per_class, list(range(per_class)), DEFAULTS)))
    made = neighbours.flatten(np.concatenate(made))  # (C·per_class, 784)
    in_subset = nearest_distance(made, built["subset_flat"]).numpy()
    in_full = nearest_distance(made, built["full_flat"]).numpy()
    return {"made": len(made), "subset_median": float(np.median(in_subset)), "full_median": float(np.median(in_full)),
            "full_min": float(in_full.min()), "near_copies": int((in_full < 0.05).sum())}


def card(rows: list[tuple[dict, dict]], per_class: int, seed: int, seconds: float) -> str:
    lines = [
        "# Training subsets for \"which training pictures are nearest?\"",
        "",
        "The app cannot read the training data at run time, so it ships a small part of it: "
        f"**{per_class} training pictures of every class**, drawn uniformly at random (numpy "
        f"`default_rng({seed})`, without replacement, per class) and kept in training-file order. The "
        "\"Mistakes\" tab compares generated pictures with these by **pixel distance**: the root-mean-square "
        "difference of brightness (0 … 1) over the 28×28 pixels; 0 = the same picture, 1 = black against white "
        "everywhere. `typical_distance` (per class) is the median distance of a subset picture to its nearest "
        "other subset picture: how far apart two different real pictures usually are.",
        "",
        "Files (plain arrays, read with `np.load(allow_pickle=False)`): `images` (N, 28, 28) uint8 (0 = black "
        "background), `labels` (N,), `train_index` (N,) (position in the training split), `typical_distance` "
        "(10,), `total_train`.",
        "",
        "| dataset | pictures (of the training split) | file size "
        "| typical distance, real to nearest other real (median over classes) |",
        "|---|---|---|---|",
    ]
    for built, _ in rows:
        lines.append(f"| {built['dataset']} | {built['pictures']:,} of {built['total']:,} | "
                     f"{built['bytes'] / 1e6:.2f} MB | {np.median(built['typical']):.3f} |")
    lines += [
        "",
        "## How much the subset misses",
        "",
        "A picture's nearest neighbour in the subset can be farther than its nearest neighbour in the whole "
        "training split. Measured for pictures made at the app's defaults "
        f"({DEFAULTS.sampler}, {DEFAULTS.steps} steps, guidance s = {DEFAULTS.guidance:g} on the model's interval), "
        "seeds 0 … N−1 of every class:",
        "",
        "| dataset | pictures made | nearest in the subset (median) | nearest in the whole training split (median) "
        "| smallest distance to the whole split | pictures closer than 0.05 to a training picture |",
        "|---|---|---|---|---|---|",
    ]
    for built, m in rows:
        lines.append(f"| {built['dataset']} | {m['made']} | {m['subset_median']:.3f} | {m['full_median']:.3f} | "
                     f"{m['full_min']:.3f} | {m['near_copies']} |")
    lines += [
        "",
        f"Built by `python -m explorer.tools.neighbours --per-class {per_class} --seed {seed}` on {date.today()} "
        f"({platform.machine()}, {torch.get_num_threads()} torch threads, {seconds:.0f} s including the measurement).",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Build model_store/<dataset>-neighbours.npz and its card.")
    parser.add_argument("--per-class", type=int, default=PER_CLASS)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--measure-per-class", type=int, default=MEASURE_PER_CLASS)
    parser.add_argument("--data", help="directory with the dataset files (default $EXPLORER_DATA or ../shared/data)")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    rows = []
    for dataset in DATASETS:
        built = build(dataset, args.per_class, args.seed, args.data)
        rows.append((built, measure(built, args.measure_per_class)))
        print(f"wrote {built['path']} ({built['bytes'] / 1e6:.2f} MB): {rows[-1][1]}")
    neighbours.CARD.write_text(card(rows, args.per_class, args.seed, time.perf_counter() - start), encoding="utf-8")
    print(f"wrote {neighbours.CARD}")


if __name__ == "__main__":
    main()
