"""The compact training subset the app ships, and "which training pictures are nearest to this one?".

Owns: the file ``model_store/<dataset>-neighbours.npz`` (its arrays and how they are read: no pickle),
the pixel distance used everywhere in the app to compare pictures (root-mean-square brightness
difference, brightness 0 … 1: 0 = the same picture, 1 = black against white in every pixel), and the
search for the nearest pictures of the subset.
Does not know: how the subset was chosen (explorer.tools.neighbours builds it and writes its card),
models, the UI. The full training data is not available to the app: only this subset is.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from explorer.data import PROJECT_ROOT, dataset_info

STORE = PROJECT_ROOT / "model_store"
CARD = STORE / "neighbours.md"  # how the subsets were chosen and what was measured with them


def subset_path(dataset: str, store: Path = STORE) -> Path:
    return Path(store) / f"{dataset_info(dataset).key}-neighbours.npz"


@dataclass(frozen=True, eq=False)
class TrainingSubset:
    """Some training pictures of one dataset, as shipped."""

    dataset: str
    images: np.ndarray  # (N, 28, 28) uint8, 0 = black background
    labels: np.ndarray  # (N,) int64
    train_index: np.ndarray  # (N,) int64: where each picture sits in the full training split
    # (C,) float: per class, the median distance of its pictures to their nearest other one
    typical_distance: np.ndarray
    flat: torch.Tensor  # (N, 784) float32, brightness 0 … 1: what the search compares
    total_train: int  # pictures in the full training split the subset was drawn from


@lru_cache(maxsize=4)
def load(dataset: str) -> TrainingSubset:
    """The shipped subset of ``dataset`` (read once per process; arrays read-only)."""
    key = dataset_info(dataset).key
    path = subset_path(key)
    if not path.exists():
        raise ValueError(f"{path.name} is missing from model_store/: build it with "
                         f"python -m explorer.tools.neighbours")
    with np.load(path, allow_pickle=False) as f:
        images, labels = f["images"], f["labels"].astype(np.int64)
        train_index, typical = f["train_index"].astype(np.int64), f["typical_distance"].astype(np.float64)
        total = int(f["total_train"])
    for array in (images, labels, train_index, typical):
        array.setflags(write=False)
    return TrainingSubset(dataset=key, images=images, labels=labels, train_index=train_index,
                          typical_distance=typical, flat=flatten(images), total_train=total)


def flatten(images: np.ndarray) -> torch.Tensor:
    """uint8 (N, 28, 28) → float32 (N, 784), brightness 0 … 1."""
    return torch.from_numpy(np.array(images, dtype=np.float32)).reshape(len(images), -1) / 255.0


def distances(queries: torch.Tensor, pool: torch.Tensor) -> torch.Tensor:
    """Root-mean-square brightness difference between every query (Q, 784) and every pool picture (N, 784): (Q, N)."""
    pixels = queries.shape[1]
    squared = (queries.pow(2).sum(1, keepdim=True) - 2 * queries @ pool.T + pool.pow(2).sum(1)[None])  # (Q, N)
    return squared.clamp(min=0).div(pixels).sqrt()


def nearest(queries: np.ndarray, subset: TrainingSubset, k: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` subset pictures nearest to each uint8 query (Q, 28, 28): indices (Q, k) and distances (Q, k)."""
    d = distances(flatten(queries), subset.flat)  # (Q, N)
    values, indices = d.topk(k, dim=1, largest=False)  # ascending
    return indices.numpy(), values.double().numpy()


def write(path: Path, images: np.ndarray, labels: np.ndarray, train_index: np.ndarray,
          typical_distance: np.ndarray, total_train: int) -> Path:
    """Write a subset in the format ``load`` reads (compressed; plain arrays only)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, images=images.astype(np.uint8), labels=labels.astype(np.uint8),
                        train_index=train_index.astype(np.int32),
                        typical_distance=typical_distance.astype(np.float32), total_train=np.int64(total_train))
    return path
