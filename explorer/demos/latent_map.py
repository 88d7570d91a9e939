"""The "Inside the VAE: a map of its codes" demo on the Compare tab: where the VAE puts real pictures.

Owns: ``latent_point``: a 2-D map (PCA) of the VAE encoder's means of the shipped gallery pictures, computed once
per dataset, coloured by class, and the picture decoded at a chosen point of it (``MAP_RANGE`` standard deviations
either way along each axis), with the note that says what the map shows.
Does not know: the UI, the network (explorer.one_shot encodes and decodes).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import plotly.graph_objects as go
import torch

from explorer import one_shot, plots, prompts
from explorer.data import dataset_info, load_gallery, to_uint8
from explorer.demos.choices import class_choice

MAP_RANGE = 4.0  # the decode sliders run −4 … +4 standard deviations along each map axis


@dataclass(frozen=True)
class LatentPoint:
    image: np.ndarray  # (28, 28) uint8, decoded at the chosen point with the chosen class
    figure: go.Figure  # the gallery's codes on the map, coloured by class, and the chosen point
    explained: float  # share of the codes' variance the two map axes keep
    note: str


@dataclass(frozen=True, eq=False)
class _LatentSpace:
    """The PCA of the VAE's encoder means of the gallery pictures of one dataset."""

    coords: np.ndarray  # (N, 2) the gallery's codes on the map, in standard deviations
    labels: np.ndarray  # (N,)
    mean: torch.Tensor  # (D,) mean code
    axes: torch.Tensor  # (2, D) principal directions × their standard deviations: code = mean + (x, y) @ axes
    explained: float


@lru_cache(maxsize=4)
def _latent_space(dataset: str) -> _LatentSpace:
    """The VAE's codes of the gallery (N pictures, each with its class); PCA of those means (N, D) → 2-D."""
    _, labels = load_gallery(dataset)
    mu = one_shot.vae_gallery_codes(dataset)  # (N, D) float64
    mean = mu.mean(0)
    _, singular, vh = torch.linalg.svd(mu - mean, full_matrices=False)  # vh (D, D)
    directions = vh[:2] * torch.sign(vh[:2].gather(1, vh[:2].abs().argmax(1, keepdim=True)))  # fixed signs
    std = singular[:2] / math.sqrt(len(mu) - 1)  # (2,)
    coords = ((mu - mean) @ directions.T / std).numpy()  # (N, 2)
    for array in (coords, labels):
        array.setflags(write=False)
    return _LatentSpace(coords=coords, labels=labels, mean=mean, axes=directions * std[:, None],
                        explained=float(singular[:2].pow(2).sum() / singular.pow(2).sum()))


def _map_coordinate(value, name: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if not (math.isfinite(number) and -MAP_RANGE <= number <= MAP_RANGE):
        raise ValueError(f"The map's {name} must be a number from {-MAP_RANGE:g} to {MAP_RANGE:g}, got {value!r}.")
    return number


def latent_point(dataset: str = "fashion", class_name: str | int | None = None, x: float = 0.0,
                 y: float = 0.0) -> LatentPoint:
    """Decode the point (x, y) of the map (standard deviations along its axes) with ``class_name``."""
    info = dataset_info(dataset)
    label = class_choice(info.key, class_name)
    x, y = _map_coordinate(x, "x"), _map_coordinate(y, "y")
    space = _latent_space(info.key)
    code = space.mean + torch.tensor([x, y], dtype=torch.float64) @ space.axes  # (D,)
    image = to_uint8(one_shot.vae_decode(info.key, code[None], torch.tensor([label])))[0]  # (28, 28)
    return LatentPoint(image=image, figure=_map_figure(info.key, space, x, y), explained=space.explained,
                       note=_map_note(info.class_names[label], space.explained))


def _map_figure(dataset: str, space: _LatentSpace, x: float, y: float) -> go.Figure:
    info = dataset_info(dataset)
    traces = []
    for c, name in enumerate(info.class_names):
        picks = np.flatnonzero(space.labels == c)
        traces.append(go.Scatter(x=space.coords[picks, 0], y=space.coords[picks, 1], mode="markers", name=name,
                                   text=[f"picture {i}: {name}" for i in picks], hoverinfo="text",
                                   marker=dict(size=8, color=_class_colour(c), opacity=0.8)))
    traces.append(go.Scatter(x=[x], y=[y], mode="markers", name="decoded point", hoverinfo="name",
                             marker=dict(symbol="x", size=18, color="black", line=dict(width=2))))
    figure = go.Figure(traces)
    figure.update_layout(plots.figure_layout("Where the VAE puts real pictures",
                                             "map x", "map y",
                                             height=420, hovermode="closest", legend=dict(font=dict(size=12))))
    figure.update_layout(xaxis=dict(range=[-MAP_RANGE, MAP_RANGE]), yaxis=dict(range=[-MAP_RANGE, MAP_RANGE]))
    return figure


def _class_colour(c: int) -> str:
    palette = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
               "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")
    return palette[c % len(palette)]


def _map_note(class_name: str, explained: float) -> str:
    return (f"Each dot is a real picture where the VAE's encoder puts it (the map keeps {explained:.0%} of the "
            f"codes' spread). The cross is decoded as {prompts.with_article(class_name)}.")


