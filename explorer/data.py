"""Datasets: where the files are, how they are read, class names, and scaling to [-1, 1].

Owns: reading Fashion-MNIST / MNIST from an npz (``x_train, y_train, x_test, y_test``) or from the
original IDX (gzip) files, the class names and prompt words of each dataset, the conversion between
uint8 images (0 = black background) and model tensors in [-1, 1], and the small gallery of real test
images shipped in ``model_store/gallery.npz`` for the app.
Does not know: models, training, the UI.
"""

from __future__ import annotations

import gzip
import numbers
import os
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA_DIR = PROJECT_ROOT.parent / "shared" / "data"
GALLERY_PATH = PROJECT_ROOT / "model_store" / "gallery.npz"
IMAGE_SIZE = 28


@dataclass(frozen=True)
class DatasetInfo:
    """What the rest of the project knows about one dataset."""

    key: str  # "fashion" or "mnist"
    title: str  # shown in the UI
    class_names: tuple[str, ...]
    npz_name: str  # file name in the data directory
    idx_prefix: str  # prefix of the original IDX files, e.g. "train-images-idx3-ubyte.gz"

    @property
    def num_classes(self) -> int:
        return len(self.class_names)


DATASETS: dict[str, DatasetInfo] = {
    "fashion": DatasetInfo(
        key="fashion",
        title="Fashion",
        class_names=("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                     "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"),
        npz_name="fashion_mnist.npz",
        idx_prefix="fashion",
    ),
    "mnist": DatasetInfo(
        key="mnist",
        title="Digits",
        class_names=("zero", "one", "two", "three", "four",
                     "five", "six", "seven", "eight", "nine"),
        npz_name="mnist_10k.npz",
        idx_prefix="mnist",
    ),
}


def dataset_info(name: str) -> DatasetInfo:
    """The dataset called ``name``; a ValueError listing the known ones otherwise."""
    key = str(name).strip().lower()
    aliases = {"fashion-mnist": "fashion", "fashion_mnist": "fashion", "digits": "mnist"}
    key = aliases.get(key, key)
    if key not in DATASETS:
        raise ValueError(f"Unknown dataset {name!r}. Known datasets: {', '.join(DATASETS)}.")
    return DATASETS[key]


def class_index(info: DatasetInfo, label: int | str) -> int:
    """A class given as an index or a class name → its index; ValueError naming the valid ones."""
    if isinstance(label, str) and not label.strip().lstrip("-").isdigit():
        lowered = [n.lower() for n in info.class_names]
        if label.strip().lower() in lowered:
            return lowered.index(label.strip().lower())
        raise ValueError(f"Unknown class {label!r} for {info.title}. "
                         f"Known classes: {', '.join(info.class_names)}.")
    whole = isinstance(label, str) or (isinstance(label, numbers.Integral) and not isinstance(label, bool))
    try:
        index = int(label) if whole else None
    except (TypeError, ValueError, OverflowError):
        index = None
    if index is None:  # 3.7, True, None, a list: never silently some class
        raise ValueError(f"Class must be a class name or a whole number, got {label!r}. "
                         f"Known classes: {', '.join(info.class_names)}.") from None
    if not 0 <= index < info.num_classes:
        raise ValueError(f"Class {index} is out of range for {info.title}: "
                         f"use 0–{info.num_classes - 1} ({', '.join(info.class_names)}).")
    return index


# ----------------------------------------------------------------------------- reading files

def data_dir(explicit: str | os.PathLike | None = None) -> Path:
    """``--data`` if given, else ``$EXPLORER_DATA``, else ``../shared/data`` beside the project."""
    chosen = explicit or os.environ.get("EXPLORER_DATA") or DEFAULT_DATA_DIR
    return Path(chosen)


def _read_idx(path: Path) -> np.ndarray:
    """One IDX file (optionally gzip-compressed) → uint8 array of its stored shape."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        raw = f.read()
    zero, dtype_code, ndim = struct.unpack(">HBB", raw[:4])
    if zero != 0 or dtype_code != 0x08:
        raise ValueError(f"{path} is not an unsigned-byte IDX file")
    dims = struct.unpack(">" + "I" * ndim, raw[4:4 + 4 * ndim])
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    return data.reshape(dims)


def _idx_candidates(directory: Path, info: DatasetInfo, stem: str) -> list[Path]:
    names = [f"{stem}", f"{stem}.gz", f"{info.idx_prefix}-{stem}", f"{info.idx_prefix}-{stem}.gz"]
    return [directory / n for n in names] + [directory / info.idx_prefix / n for n in names]


def _load_idx_split(directory: Path, info: DatasetInfo, split: str) -> tuple[np.ndarray, np.ndarray]:
    prefix = "train" if split == "train" else "t10k"
    arrays = []
    for stem in (f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte"):
        found = next((p for p in _idx_candidates(directory, info, stem) if p.exists()), None)
        if found is None:
            raise FileNotFoundError(f"No {info.npz_name} and no IDX file {stem}[.gz] in {directory}")
        arrays.append(_read_idx(found))
    return arrays[0], arrays[1].astype(np.int64)


def load_split(dataset: str, split: str = "train",
               directory: str | os.PathLike | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Images (N, 28, 28) uint8 and labels (N,) int64 of ``split`` ("train" or "test")."""
    if split not in ("train", "test"):
        raise ValueError(f"Unknown split {split!r}; use 'train' or 'test'.")
    info = dataset_info(dataset)
    root = data_dir(directory)
    npz = root / info.npz_name
    if npz.exists():
        with np.load(npz, allow_pickle=False) as f:
            return f[f"x_{split}"].astype(np.uint8), f[f"y_{split}"].astype(np.int64)
    return _load_idx_split(root, info, split)


# ----------------------------------------------------------------------------- scaling

def to_model_range(images_uint8: np.ndarray) -> torch.Tensor:
    """uint8 (N, 28, 28), 0 = black → float32 (N, 1, 28, 28) in [-1, 1]."""
    x = torch.from_numpy(np.ascontiguousarray(images_uint8)).float()
    return (x / 127.5 - 1.0).unsqueeze(1)


def to_uint8(x: torch.Tensor) -> np.ndarray:
    """Model tensor (N, 1, 28, 28) or (N, 28, 28) in [-1, 1] → uint8 (N, 28, 28), clipped."""
    x = x.detach().float().cpu()
    if x.dim() == 4:
        x = x[:, 0]
    return ((x.clamp(-1, 1) + 1.0) * 127.5).round().to(torch.uint8).numpy()


# ----------------------------------------------------------------------------- gallery

def load_gallery(dataset: str) -> tuple[np.ndarray, np.ndarray]:
    """The shipped real test images of ``dataset``: (N, 28, 28) uint8 and labels (N,).

    ``model_store/gallery.npz`` holds the first 20 test images of every class of both datasets (``fashion_images``,
    ``fashion_labels``, ``mnist_images``, ``mnist_labels``), in class order."""
    info = dataset_info(dataset)
    with np.load(GALLERY_PATH, allow_pickle=False) as f:
        return f[f"{info.key}_images"], f[f"{info.key}_labels"].astype(np.int64)
