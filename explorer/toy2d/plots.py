"""Plotly figures of the 2-D toy: point clouds by class, the learned arrows, the loss curve, the particles.

Owns: how the toy looks (the two class colours, the square view of the plane, rounded coordinates so a figure
stays small to send). Every figure is a plain ``plotly.graph_objects.Figure`` without frames (Gradio draws
data and layout only), so an animation is a series of figures.
Does not know: networks or training (it gets tensors and numbers).
"""

from __future__ import annotations

import plotly.graph_objects as go
import torch
from plotly.subplots import make_subplots

COLOURS = ("#1f77b4", "#ff7f0e")  # class 0 blue, class 1 orange (the drawing's two inks)
EXTENT = 3.2  # the view: −EXTENT … EXTENT on both axes
HEIGHT = 420
DIGITS = 3  # coordinates sent rounded to this many decimals


def _xy(points: torch.Tensor) -> tuple[list[float], list[float]]:
    array = points.detach().to(torch.float64).clamp(-99, 99).numpy().round(DIGITS)
    return array[:, 0].tolist(), array[:, 1].tolist()


def _square(fig: go.Figure, title: str, height: int = HEIGHT) -> go.Figure:
    fig.update_layout(title=dict(text=title, font=dict(size=15)), height=height, margin=dict(l=10, r=10, t=40, b=10),
                      legend=dict(orientation="h", y=-0.02, yanchor="top"), plot_bgcolor="white", uirevision="toy")
    fig.update_xaxes(range=[-EXTENT, EXTENT], showgrid=False, zeroline=False, showticklabels=False, constrain="domain")
    fig.update_yaxes(range=[-EXTENT, EXTENT], showgrid=False, zeroline=False, showticklabels=False,
                     scaleanchor="x", scaleratio=1)
    return fig


def _clouds(points: torch.Tensor, labels: torch.Tensor, class_names, size: int = 5, opacity: float = 0.75,
            show_legend: bool = True, suffix: str = "") -> list[go.Scatter]:
    traces = []
    for c, name in enumerate(class_names):
        x, y = _xy(points[labels == c])
        traces.append(go.Scatter(x=x, y=y, mode="markers", name=f"{name}{suffix}", showlegend=show_legend,
                                 marker=dict(size=size, color=COLOURS[c], opacity=opacity), hoverinfo="skip"))
    return traces


def cloud_figure(points: torch.Tensor, labels: torch.Tensor, class_names, title: str) -> go.Figure:
    """The points coloured by class."""
    return _square(go.Figure(_clouds(points, labels, class_names)), title)


def field_figure(data: torch.Tensor, labels: torch.Tensor, class_names, positions: torch.Tensor,
                 moves: torch.Tensor, title: str) -> go.Figure:
    """The data faint behind arrows from ``positions`` by ``moves`` (scaled so the longest is one grid cell)."""
    fig = go.Figure(_clouds(data, labels, class_names, size=4, opacity=0.25))
    cell = 2 * EXTENT / max(1, int(len(positions) ** 0.5))
    longest = float(moves.norm(dim=1).max().clamp_min(1e-9))
    ends = positions + moves * (0.9 * cell / longest)
    xs, ys = [], []
    for (x0, y0), (x1, y1) in zip(positions.tolist(), ends.tolist()):
        xs += [round(x0, DIGITS), round(x1, DIGITS), None]
        ys += [round(y0, DIGITS), round(y1, DIGITS), None]
    fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", line=dict(color="#333", width=1.5),
                             name="where it moves a point", hoverinfo="skip"))
    tx, ty = _xy(ends)
    fig.add_trace(go.Scatter(x=tx, y=ty, mode="markers", marker=dict(size=4, color="#333"), showlegend=False,
                             hoverinfo="skip"))
    return _square(fig, title)


def loss_figure(steps: list[int], losses: list[float], title: str = "Training: how wrong it guesses"
                ) -> go.Figure:
    """The loss after every chunk of training steps."""
    fig = go.Figure(go.Scatter(x=list(steps), y=[round(v, 4) for v in losses], mode="lines", name="loss",
                               line=dict(color="#444")))
    fig.update_layout(title=dict(text=title, font=dict(size=15)), height=260, margin=dict(l=60, r=10, t=40, b=10),
                      xaxis_title="training steps", yaxis_title="error", uirevision="loss")  # room for the y title
    if losses:
        fig.update_yaxes(range=[0, max(0.6, max(losses) * 1.05)])
    return fig


def particles_figure(data: torch.Tensor, data_labels: torch.Tensor, particles: torch.Tensor,
                     particle_labels: torch.Tensor, class_names, title: str) -> go.Figure:
    """Particles (large) over the data (faint)."""
    traces = _clouds(data, data_labels, class_names, size=4, opacity=0.15, show_legend=False)
    traces += _clouds(particles, particle_labels, class_names, size=5, opacity=0.9, suffix=" particles")
    return _square(go.Figure(traces), title)


def panels_figure(panels: list[tuple[str, torch.Tensor]], labels: torch.Tensor, data: torch.Tensor,
                  data_labels: torch.Tensor, class_names, title: str) -> go.Figure:
    """Side-by-side particle sets (title, points) with the data faint behind each."""
    fig = make_subplots(rows=1, cols=len(panels), subplot_titles=[name for name, _ in panels],
                        horizontal_spacing=0.02)
    for i, (_, points) in enumerate(panels, start=1):
        for trace in _clouds(data, data_labels, class_names, size=3, opacity=0.15, show_legend=False):
            fig.add_trace(trace, row=1, col=i)
        for trace in _clouds(points, labels, class_names, size=4, opacity=0.9, show_legend=i == 1):
            fig.add_trace(trace, row=1, col=i)
    fig.update_layout(title=dict(text=title, font=dict(size=15)), height=320, margin=dict(l=10, r=10, t=60, b=10),
                      legend=dict(orientation="h", y=-0.02, yanchor="top"), plot_bgcolor="white")
    for i in range(1, len(panels) + 1):
        fig.update_xaxes(range=[-EXTENT, EXTENT], showgrid=False, zeroline=False, showticklabels=False, row=1, col=i)
        fig.update_yaxes(range=[-EXTENT, EXTENT], showgrid=False, zeroline=False, showticklabels=False, row=1, col=i,
                         scaleanchor=f"x{i if i > 1 else ''}", scaleratio=1)
    return fig
