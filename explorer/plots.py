"""Pictures and charts for the app: crisp upscaling, strips, grids, GIFs and plotly figures.

Owns: turning arrays that other layers computed into things a class can read on a projector or a
phone — nearest-neighbour upscaled uint8 images (0 = black), labelled strips, grids, animated GIFs,
and plotly figures with one shared style (font ≥ 14, height ~360, titles wrapped to fit a phone,
legend at the bottom). Labels drawn into a picture are sized for the phone that shrinks it to its screen
(at least SHOWN_LABEL px as shown there where they fit), wrap onto up to LABEL_LINES lines, and use only
characters the picture font has (a missing one would draw as a box).
Does not know: models, sampling, datasets, the UI. Uses numpy, Pillow and plotly only; a schedule
is read through its ``alpha_bar`` and ``name`` attributes, without importing torch.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
from PIL import Image, ImageDraw, ImageFont

FONT_SIZE = 15
TITLE_SIZE = 17
TITLE_CHARS = 32  # a title line this long still fits a phone-wide figure (~330 px); plotly never wraps
TITLE_LINE = 22  # px of one title line
TITLE_GAP = 16  # px between the title and the plot
FIGURE_HEIGHT = 360
GAP_VALUE = 160  # grey between tiles, visible against both black and white images
LABEL_BAND_VALUE = 255  # labels are black text on a white band
PHONE_WIDTH = 324  # px: the widest a picture is shown on a 390 px wide phone (its column, measured in Chromium)
SHOWN_LABEL = 12  # px: a label's font size as shown on that phone, at least (smaller cannot be read there)
LABEL_SIZES = (12, 24)  # px: the smallest label font, and the largest one unless a phone needs more
LABEL_LINES = 3  # lines a label may wrap onto under its tile
# the picture font (Pillow's built-in Aileron) has printable ASCII but no "−", "×" or dashes: plain stand-ins
PLAIN = str.maketrans({"−": "-", "–": "-", "—": "-", "×": "x", "·": ".", "’": "'", "‘": "'", "“": '"', "”": '"'})
COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf")


# ----------------------------------------------------------------------------- images

def upscale(img: np.ndarray, size: int = 280) -> np.ndarray:
    """uint8 (h, w) → uint8 (size, round(w·size/h)), nearest neighbour: each pixel a crisp block."""
    img = np.asarray(img, dtype=np.uint8)
    h, w = img.shape
    width = max(1, round(w * size / h))
    return np.asarray(Image.fromarray(img).resize((width, size), Image.Resampling.NEAREST))


@lru_cache(maxsize=32)
def _font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.load_default(size=size)


def shown_label_size(size: int, width: int) -> float:
    """A label drawn at ``size`` px into a picture ``width`` px wide, in px as a phone shows it."""
    return size * min(1.0, PHONE_WIDTH / width)


def drawable(text: object) -> str:
    """``text`` as the picture font can draw it: known stand-ins for what it lacks ("−" → "-", "×" → "x"),
    "?" for any other missing character."""
    return "".join(c if _has_glyph(c) else "?" for c in str(text).translate(PLAIN))


@lru_cache(maxsize=1024)
def _has_glyph(char: str) -> bool:
    if char.isascii():
        return char.isprintable() or char == "\n"
    font = _font(LABEL_SIZES[0])
    mask, missing = font.getmask(char), font.getmask("\uffff")  # U+FFFF: never a glyph, drawn as the box
    return mask.size != missing.size or bytes(mask) != bytes(missing)


def _wrap(text: str, font: ImageFont.FreeTypeFont, width: float) -> list[str]:
    """``text``'s lines ("\n" breaks one), each wrapped at spaces to at most ``width`` px where its words allow; a
    word too long for a line of its own breaks after a "=", "/" or ":" in it ("k=1000" → "k=", "1000")."""
    lines = []
    for part in text.split("\n"):
        line = ""
        for word in (piece for word in part.split(" ") for piece in _pieces(word, font, width)):
            longer = f"{line} {word}" if line else word
            if line and font.getlength(longer) > width:
                lines.append(line)
                line = word
            else:
                line = longer
        lines.append(line)
    return lines


def _pieces(word: str, font: ImageFont.FreeTypeFont, width: float) -> list[str]:
    """``word``, or its parts broken after "=", "/" or ":" where it is wider than ``width`` px."""
    if font.getlength(word) <= width:
        return [word]
    breaks = [i + 1 for i, c in enumerate(word[:-1]) if c in "=/:"]
    fitting = [i for i in breaks if font.getlength(word[:i]) <= width]
    if not fitting:
        return [word]
    return [word[:fitting[-1]], *_pieces(word[fitting[-1]:], font, width)]


def _label_layout(labels: tuple[str, ...], tile: int, width: int) -> tuple[int, tuple[tuple[str, ...], ...]]:
    """The font size and each label's lines for labels under ``tile`` px tiles of a picture ``width`` px wide:
    as few lines as possible at a size a phone still shows at SHOWN_LABEL px or more (about tile/6 where the
    picture is narrow); smaller only where even LABEL_LINES lines at that size do not fit."""
    needed = max(LABEL_SIZES[0], math.ceil(SHOWN_LABEL * width / PHONE_WIDTH))
    largest = max(needed, min(LABEL_SIZES[1], tile // 6))
    room = tile  # a label as wide as its tile at most: the gaps keep neighbours apart

    def fitted(size: int, lines: int) -> tuple[tuple[str, ...], ...] | None:
        font = _font(size)
        wrapped = tuple(tuple(_wrap(text, font, room)) for text in labels)
        if all(len(w) <= lines and max(font.getlength(line) for line in w) <= room for w in wrapped):
            return wrapped
        return None

    for lines in range(1, LABEL_LINES + 1):
        for size in range(largest, needed - 1, -1):
            if (wrapped := fitted(size, lines)) is not None:
                return size, wrapped
    for size in range(needed - 1, LABEL_SIZES[0] - 1, -1):
        if (wrapped := fitted(size, LABEL_LINES)) is not None:
            return size, wrapped
    font = _font(LABEL_SIZES[0])
    return LABEL_SIZES[0], tuple(tuple(_wrap(text, font, room)) for text in labels)


def _label_font_size(labels: Sequence[str], tile: int, width: int) -> int:
    """The size labels under ``tile`` px tiles of a picture ``width`` px wide are drawn at (_label_layout)."""
    return _label_layout(tuple(drawable(text) for text in labels), tile, width)[0]


def _label_band(labels: Sequence[str], tile: int, gap: int, width: int,
                picture_width: int | None = None) -> np.ndarray:
    """A white band (height, width) with each label centred under its tile, sized for a picture
    ``picture_width`` px wide (default: ``width``); read-only: bands are reused."""
    return _drawn_band(tuple(drawable(text) for text in labels), tile, gap, width, picture_width or width)


def _line_height(font: ImageFont.FreeTypeFont) -> int:
    ascent, descent = font.getmetrics()
    return ascent + descent


@lru_cache(maxsize=512)
def _drawn_band(labels: tuple[str, ...], tile: int, gap: int, width: int, picture_width: int) -> np.ndarray:
    """_label_band, drawn once per set of labels and size (a run's step labels recur in every run)."""
    size, wrapped = _label_layout(labels, tile, picture_width)
    font = _font(size)
    line = _line_height(font)
    most = max(len(lines) for lines in wrapped)
    height = most * line + 8
    band = Image.new("L", (width, height), LABEL_BAND_VALUE)
    draw = ImageDraw.Draw(band)
    for i, lines in enumerate(wrapped):
        centre = i * (tile + gap) + tile / 2
        top = 4 + (most - len(lines)) * line / 2
        for j, text in enumerate(lines):
            draw.text((centre, top + (j + 0.5) * line), text, fill=0, font=font, anchor="mm")
    array = np.asarray(band)
    array.setflags(write=False)
    return array


def strip(images, labels: Sequence[str] | None = None, size: int = 84, gap: int = 4) -> np.ndarray:
    """Images (N, h, w) uint8 → one uint8 row of N tiles, each ``size`` px tall, with gaps.

    ``labels`` (N strings) are written under the tiles, black on white.
    """
    tiles = [upscale(img, size) for img in images]  # each (size, w')
    if not tiles:
        raise ValueError("strip() needs at least one image.")
    width = sum(t.shape[1] for t in tiles) + gap * (len(tiles) - 1)
    row = np.full((size, width), GAP_VALUE, dtype=np.uint8)
    x = 0
    for tile in tiles:
        row[:, x:x + tile.shape[1]] = tile
        x += tile.shape[1] + gap
    if labels is None:
        return row
    if len(labels) != len(tiles):
        raise ValueError(f"strip() got {len(tiles)} images but {len(labels)} labels.")
    return np.concatenate([row, _label_band(labels, tiles[0].shape[1], gap, width)], axis=0)


def grid(images, size: int = 56, gap: int = 2) -> np.ndarray:
    """Images (R, C, h, w) uint8 → one uint8 image of R rows × C columns of ``size`` px tiles."""
    images = np.asarray(images, dtype=np.uint8)
    if images.ndim != 4:
        raise ValueError(f"grid() expects (rows, cols, h, w) images; got shape {images.shape}.")
    rows = [strip(row, size=size, gap=gap) for row in images]  # each (size, W)
    out = np.full((len(rows) * size + gap * (len(rows) - 1), rows[0].shape[1]), GAP_VALUE, np.uint8)
    for r, row in enumerate(rows):
        out[r * (size + gap):r * (size + gap) + size] = row
    return out


def to_gif(frames, path: str | Path, duration_ms: int | Sequence[int] = 80, loop: int = 0) -> Path:
    """Frames (each (H, W) uint8, same size) → an animated GIF at ``path`` (loops forever by default);
    ``duration_ms``: one time for every frame, or one per frame.

    Saved without Pillow's palette optimisation: the same frames, a file about 8 % larger, written in
    9 ms instead of 22 ms for a Remove-noise run's 17 frames (measured on the 2-vCPU EPYC).
    """
    pictures = [Image.fromarray(np.asarray(f, dtype=np.uint8), mode="L") for f in frames]
    if not pictures:
        raise ValueError("to_gif() needs at least one frame.")
    path = Path(path)
    pictures[0].save(path, format="GIF", save_all=True, append_images=pictures[1:],
                     duration=[int(d) for d in duration_ms] if isinstance(duration_ms, Sequence) else int(duration_ms),
                     loop=loop, optimize=False)
    return path


# ----------------------------------------------------------------------------- figures

def figure_layout(title: str, x_title: str, y_title: str, **extra) -> dict:
    """The one look of every figure: readable on a projector, fits a phone.

    ``template="none"`` keeps plotly.js's plain defaults and makes a figure ~10× cheaper to build
    than with a named template (this runs on every slider move). The title sits on top, wrapped to
    fit a phone, with the top margin sized for its lines (plotly's own title automargin counts one line
    only); the legend sits at the bottom, where plotly makes room for however many rows it needs.
    """
    lines = textwrap.wrap(title, TITLE_CHARS)
    layout = dict(
        template="none",
        title=dict(text="<br>".join(lines), font=dict(size=TITLE_SIZE), x=0, xref="container", xanchor="left",
                   y=1, yref="container", yanchor="top", pad=dict(t=8 + TITLE_LINE * (len(lines) - 1), l=8)),
        font=dict(size=FONT_SIZE),
        height=FIGURE_HEIGHT,
        autosize=True,
        margin=dict(l=10, r=10, t=TITLE_GAP + TITLE_LINE * len(lines) + 8, b=10),
        legend=dict(orientation="h", x=0, xanchor="left", yref="container", y=0, yanchor="bottom"),
        hovermode="x unified",
        xaxis=dict(title=dict(text=x_title), automargin=True),
        yaxis=dict(title=dict(text=y_title), automargin=True),
    )
    for key, value in extra.items():
        layout[key] = {**layout[key], **value} if isinstance(layout.get(key), dict) else value
    return layout


def _marker(x: float, text: str, right: bool) -> tuple[dict, dict]:
    """A dashed vertical line at ``x`` and its label at the top (to its right or left)."""
    line = dict(type="line", xref="x", yref="paper", x0=x, x1=x, y0=0, y1=1,
                line=dict(color="black", width=2, dash="dash"))
    label = dict(xref="x", yref="paper", x=x, y=1, text=text, showarrow=False,
                 xanchor="left" if right else "right", yanchor="top")
    return line, label


def histogram_figure(values, title: str = "Pixel values of x_t vs the normal curve",
                     x_range: tuple[float, float] = (-4.0, 4.0), y_max: float = 1.2) -> go.Figure:
    """Histogram (as a density) of ``values`` (any shape, model range) against N(0, 1)'s density.

    The axes are fixed so the picture does not jump while a slider moves; bars taller than
    ``y_max`` (e.g. the black background of a clean image) run off the top.
    """
    values = np.asarray(values, dtype=np.float64).ravel()
    grid_x = np.linspace(*x_range, 201)
    normal = np.exp(-grid_x ** 2 / 2) / math.sqrt(2 * math.pi)
    layout = figure_layout(title, "pixel value", "density", hovermode="closest", bargap=0.05,
                     xaxis=dict(range=list(x_range)), yaxis=dict(range=[0, y_max]))
    return go.Figure([
        go.Histogram(x=values, histnorm="probability density", name="pixels of x_t",
                     xbins=dict(start=x_range[0], end=x_range[1], size=0.2),
                     marker=dict(color=COLOURS[0]), opacity=0.75),
        go.Scatter(x=grid_x, y=normal, name="N(0, 1)", line=dict(color=COLOURS[1], width=3)),
    ], layout=layout)


def line_figure(xs, ys_by_name: Mapping[str, Sequence[float]], title: str,
                xaxis: str, yaxis: str) -> go.Figure:
    """One line per entry of ``ys_by_name`` (name → y values over ``xs``), in the shared style."""
    return go.Figure([
        go.Scatter(x=np.asarray(xs), y=np.asarray(ys), name=name, mode="lines",
                   line=dict(color=COLOURS[i % len(COLOURS)], width=3))
        for i, (name, ys) in enumerate(ys_by_name.items())
    ], layout=figure_layout(title, xaxis, yaxis))


# ----------------------------------------------------------------------------- lesson demos

def labelled_grid(images, column_labels: Sequence[str], row_labels: Sequence[str], size: int = 84,
                  gap: int = 4, headings: bool = False) -> np.ndarray:
    """Images (R, C, h, w) uint8 → one uint8 picture with its rows and columns labelled.

    By default the row labels stand on the left and the column labels underneath. With ``headings`` each row
    label is a heading across the full width above its row and the column labels stand on top: the picture
    stays as narrow as its tiles, so a phone shrinks it (and its labels) less, and a row label may be long.
    """
    images = np.asarray(images, dtype=np.uint8)
    if images.ndim != 4 or len(row_labels) != images.shape[0] or len(column_labels) != images.shape[1]:
        raise ValueError(f"labelled_grid() got images of shape {images.shape}, {len(row_labels)} row labels "
                         f"and {len(column_labels)} column labels.")
    rows = [drawable(text) for text in row_labels]
    if headings:
        return _grid_with_headings(images, column_labels, rows, size, gap)
    body = grid(images, size=size, gap=gap)  # (R·size + gaps, W)
    left = 0
    for _ in range(8):  # the row labels' column widens the picture, which a phone then shrinks more
        font = _font(_label_font_size(column_labels, size, left + body.shape[1]))
        wanted = int(max(font.getlength(text) for text in rows)) + 12
        if wanted <= left:
            break
        left = wanted
    side = Image.new("L", (left, body.shape[0]), LABEL_BAND_VALUE)
    draw = ImageDraw.Draw(side)
    for r, text in enumerate(rows):
        draw.text((left - 6, r * (size + gap) + size / 2), text, fill=0, font=font, anchor="rm")
    bottom = _label_band(column_labels, size, gap, body.shape[1], left + body.shape[1])  # (band, W)
    corner = np.full((bottom.shape[0], left), LABEL_BAND_VALUE, dtype=np.uint8)
    return np.concatenate([np.concatenate([np.asarray(side), body], axis=1),
                           np.concatenate([corner, bottom], axis=1)], axis=0)


def _grid_with_headings(images: np.ndarray, column_labels: Sequence[str], row_labels: Sequence[str], size: int,
                        gap: int) -> np.ndarray:
    """labelled_grid with ``headings``: the column labels on top, each row under a heading of its own."""
    top = _label_band(column_labels, size, gap, images.shape[1] * (size + gap) - gap)  # (band, W)
    width = top.shape[1]
    font = _font(_label_font_size(column_labels, size, width))
    line = _line_height(font)
    parts = [top]
    for label, row in zip(row_labels, images):
        lines = _wrap(label, font, width - 8)
        heading = Image.new("L", (width, len(lines) * line + 6), LABEL_BAND_VALUE)
        draw = ImageDraw.Draw(heading)
        for j, text in enumerate(lines):
            draw.text((4, 4 + (j + 0.5) * line), text, fill=0, font=font, anchor="lm")
        parts += [np.asarray(heading), strip(row, size=size, gap=gap)]
    return np.concatenate(parts, axis=0)


def error_by_t_figure(ts, errors, t_now: int, error_now: float) -> go.Figure:
    """The error of the network's clean picture against t (K,), with the current t marked."""
    line, label = _marker(t_now, f"k = {t_now}", right=t_now < max(ts) / 2)
    layout = figure_layout("How far off is the worked-out picture, at each k?",
                           "k: steps of static added", "grey levels off",
                           hovermode="closest", shapes=[line], annotations=[label],
                           yaxis=dict(rangemode="tozero"))
    return go.Figure([
        go.Scatter(x=np.asarray(ts), y=np.asarray(errors), name="this picture, this noise", mode="lines+markers",
                   line=dict(color=COLOURS[0], width=3)),
        go.Scatter(x=[t_now], y=[error_now], name=f"now (k = {t_now})", mode="markers",
                   marker=dict(color=COLOURS[1], size=14, symbol="diamond")),
    ], layout=layout)


def probability_lines_figure(steps, lines: Mapping[str, tuple[Sequence[float], Sequence[float]]],
                             names: tuple[str, str], title: str) -> go.Figure:
    """For each run (name → (P(first), P(second)) over ``steps``): a solid line for the second class and a
    dotted one for the first, one colour per run."""
    traces = []
    for i, (run, (first, second)) in enumerate(lines.items()):
        colour = COLOURS[i % len(COLOURS)]
        traces.append(go.Scatter(x=np.asarray(steps), y=np.asarray(second), name=run, legendgroup=run,
                                 mode="lines+markers", line=dict(color=colour, width=3),
                                 hovertemplate=f"{run}: P({names[1]}) = %{{y:.2f}}<extra></extra>"))
        traces.append(go.Scatter(x=np.asarray(steps), y=np.asarray(first), name=run, legendgroup=run,
                                 showlegend=False, mode="lines", line=dict(color=colour, width=2, dash="dot"),
                                 hovertemplate=f"{run}: P({names[0]}) = %{{y:.2f}}<extra></extra>"))
    layout = figure_layout(title, "step (1 = pure static)", "judge's probability", hovermode="closest",
                           yaxis=dict(range=[0, 1.02]))
    return go.Figure(traces, layout=layout)


def picture_left_figure(schedule, steps: int) -> go.Figure:
    """How much of the picture (√ᾱ) and how much static (√(1−ᾱ)) there is after k = 0 … T steps, in words.

    A vertical line marks ``steps``.
    """
    alpha_bar = np.concatenate([[1.0], np.asarray(schedule.alpha_bar, dtype=np.float64)])  # (T+1,)
    ks = np.arange(alpha_bar.shape[0])
    line, label = _marker(steps, f"k = {steps}", right=steps < ks[-1] / 2)
    layout = figure_layout(f"How much picture and static are left ({schedule.name} schedule)",
                           "k: noising steps", "strength (1 = all of it)", yaxis=dict(range=[0, 1.05]),
                           shapes=[line], annotations=[label])
    return go.Figure([
        go.Scatter(x=ks, y=np.sqrt(alpha_bar), name="picture left", line=dict(color=COLOURS[0], width=3)),
        go.Scatter(x=ks, y=np.sqrt(1 - alpha_bar), name="static added", line=dict(color=COLOURS[1], width=3)),
    ], layout=layout)
