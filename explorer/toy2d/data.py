"""The 2-D point sets of the toy, each with two classes, and the check of a set a student drew.

Owns: the built-in sets (two moons, a spiral, two rings, two letters) made from a seed, scaled so that each
coordinate has spread about 1 (like the static the forward process ends in), the limits on a set's size,
``check_points`` (too few or too many points, NaN/∞, bad classes → ValueError with a clear message) and
``points_from_drawing`` (the ink of a two-colour drawing → points and classes).
Does not know: networks, schedules, the UI.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from explorer.checks import check_seed, whole_number

MIN_POINTS = 20  # fewer is no shape to learn
MAX_POINTS = 2000  # per set: bounds a training step's and a picture's cost
DEFAULT_POINTS = 1000
NUM_CLASSES = 2


@dataclass(frozen=True)
class PointSet:
    """Points (N, 2) float32, their classes (N,) int64 in {0, 1}, and the two classes' names."""

    name: str
    points: torch.Tensor
    labels: torch.Tensor
    class_names: tuple[str, str]


def _moons(n: int, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    labels = (torch.arange(n) % 2)
    angle = torch.rand(n, generator=g, dtype=torch.float64) * math.pi
    x = torch.where(labels == 0, torch.cos(angle), 1 - torch.cos(angle))
    y = torch.where(labels == 0, torch.sin(angle), 0.5 - torch.sin(angle))
    pts = torch.stack([x, y], 1) + 0.06 * torch.randn(n, 2, generator=g, dtype=torch.float64)
    return pts, labels


def _spiral(n: int, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    labels = (torch.arange(n) % 2)
    s = torch.rand(n, generator=g, dtype=torch.float64)
    radius = 0.15 + s
    angle = 3.0 * math.pi * s + math.pi * labels
    pts = torch.stack([radius * torch.cos(angle), radius * torch.sin(angle)], 1)
    return pts + 0.03 * torch.randn(n, 2, generator=g, dtype=torch.float64), labels


def _rings(n: int, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    labels = (torch.arange(n) % 2)
    angle = 2 * math.pi * torch.rand(n, generator=g, dtype=torch.float64)
    radius = torch.where(labels == 0, 1.0, 0.45)
    pts = radius[:, None] * torch.stack([torch.cos(angle), torch.sin(angle)], 1)
    return pts + 0.04 * torch.randn(n, 2, generator=g, dtype=torch.float64), labels


_LETTER_STROKES = {  # each letter's strokes in a unit box, as (x0, y0, x1, y1)
    0: [(0.0, 0.0, 0.5, 1.0), (0.5, 1.0, 1.0, 0.0), (0.22, 0.45, 0.78, 0.45)],  # A
    1: [(0.0, 1.0, 1.0, 1.0), (1.0, 1.0, 0.0, 0.0), (0.0, 0.0, 1.0, 0.0)],  # Z
}


def _letters(n: int, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    labels = (torch.arange(n) % 2)
    out = torch.empty(n, 2, dtype=torch.float64)
    for label, strokes in _LETTER_STROKES.items():
        rows = torch.nonzero(labels == label).flatten()
        seg = torch.tensor(strokes, dtype=torch.float64)
        lengths = torch.hypot(seg[:, 2] - seg[:, 0], seg[:, 3] - seg[:, 1])
        which = torch.multinomial(lengths, len(rows), replacement=True, generator=g)
        u = torch.rand(len(rows), generator=g, dtype=torch.float64)[:, None]
        s = seg[which]
        xy = s[:, :2] + u * (s[:, 2:] - s[:, :2])
        xy[:, 0] += 1.4 * label  # the second letter to the right of the first
        out[rows] = xy
    return out + 0.025 * torch.randn(n, 2, generator=g, dtype=torch.float64), labels


SETS = {  # key → (name shown, maker, class names)
    "moons": ("Two moons", _moons, ("upper moon", "lower moon")),
    "spiral": ("Spiral", _spiral, ("arm 1", "arm 2")),
    "rings": ("Two rings", _rings, ("outer ring", "inner ring")),
    "letters": ("Letters A and Z", _letters, ("A", "Z")),
}
DRAWN = "drawn"
DRAWN_CLASSES = ("blue", "orange")


def scale(points: torch.Tensor) -> torch.Tensor:
    """Centred, and scaled so that the two coordinates' average spread is 1 (float32)."""
    points = points.to(torch.float64)
    points = points - points.mean(0)
    spread = points.std(0).mean().clamp_min(1e-6)
    return (points / spread).to(torch.float32)


def make_points(name: str = "moons", n: int = DEFAULT_POINTS, seed: int = 0) -> PointSet:
    """``n`` points of the built-in set ``name``, drawn from ``seed`` (the same seed: the same points)."""
    if name not in SETS:
        raise ValueError(f"Unknown point set {name!r}. Known sets: {', '.join(SETS)}.")
    n = whole_number(n, "Number of points", MIN_POINTS, MAX_POINTS)
    g = torch.Generator().manual_seed(check_seed(seed))
    title, maker, classes = SETS[name]
    points, labels = maker(n, g)
    return PointSet(name, scale(points), labels.to(torch.int64), classes)


def check_points(points, labels=None) -> tuple[torch.Tensor, torch.Tensor]:
    """A set of points as (N, 2) float32 and classes (N,) int64, or a ValueError that says what is wrong."""
    try:
        array = np.asarray(points, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError("The points must be a list of (x, y) number pairs.") from None
    if array.ndim != 2 or array.shape[1] != 2:
        raise ValueError(f"The points must be (x, y) pairs: got an array of shape {array.shape}.")
    count = array.shape[0]
    if count < MIN_POINTS:
        raise ValueError(f"Too few points: {count}. Draw at least {MIN_POINTS} (more strokes, or bigger ones).")
    if count > MAX_POINTS:
        raise ValueError(f"Too many points: {count}. At most {MAX_POINTS} are allowed.")
    bad = ~np.isfinite(array).all(1)
    if bad.any():
        raise ValueError(f"{int(bad.sum())} of the points have a coordinate that is not a finite number "
                         f"(NaN or infinity), e.g. point {int(np.argmax(bad)) + 1}.")
    if labels is None:
        labels = np.zeros(count, dtype=np.int64)
    try:
        classes = np.asarray(labels, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError("The classes must be numbers, 0 or 1.") from None
    if classes.shape != (count,):
        raise ValueError(f"There must be one class per point: {count} points, classes of shape {classes.shape}.")
    if not np.isin(classes, (0, 1)).all():
        raise ValueError("Every class must be 0 or 1.")
    if np.ptp(array, axis=0).max() < 1e-6:
        raise ValueError("All the points are in one place: there is no shape to learn.")
    return torch.from_numpy(array).to(torch.float32), torch.from_numpy(classes).to(torch.int64)


def drawn_set(points, labels=None) -> PointSet:
    """A student's points, checked and scaled like the built-in sets."""
    pts, labels = check_points(points, labels)
    return PointSet(DRAWN, scale(pts), labels, DRAWN_CLASSES)


def points_from_drawing(image, max_points: int = DEFAULT_POINTS, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The ink of an RGB(A) drawing (H, W, 3|4) uint8 on white or transparent → (points (N, 2), classes (N,)).

    Bluish ink is class 0, reddish/orange ink class 1 (any other ink: class 0). At most ``max_points`` ink pixels,
    picked from ``seed``; y points up.
    """
    array = np.asarray(image)
    if array.ndim != 3 or array.shape[2] not in (3, 4) or array.size == 0:
        raise ValueError("The drawing must be a colour picture.")
    rgb = array[..., :3].astype(np.int32)
    ink = rgb.min(2) < 200  # not white
    if array.shape[2] == 4:
        ink &= array[..., 3] > 32
    rows, cols = np.nonzero(ink)
    if rows.size < MIN_POINTS:
        raise ValueError(f"Too few points: the drawing has {rows.size} inked pixels. Draw at least "
                         f"{MIN_POINTS} (a few strokes).")
    g = torch.Generator().manual_seed(check_seed(seed))
    keep = torch.randperm(rows.size, generator=g)[:whole_number(max_points, "Points", MIN_POINTS, MAX_POINTS)].numpy()
    rows, cols = rows[keep], cols[keep]
    colour = rgb[rows, cols]
    labels = (colour[:, 0] > colour[:, 2]).astype(np.int64)  # more red than blue: class 1
    points = np.stack([cols, array.shape[0] - 1 - rows], 1).astype(np.float64)
    return points, labels
