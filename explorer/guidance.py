"""Classifier-free guidance: the one formula, and the wrapper that turns a network's forward into ``model_fn``.

Owns: ``eps = eps_uncond + s · (eps_cond − eps_uncond)`` (s = 0 unconditional, s = 1 purely
conditional, s > 1 pushes past it; some code writes w = s − 1), batching both branches into one
network call (one scale for the whole batch, or one per image; then only the branches a scale needs,
and identical rows once: ``weighted_prediction``, ``branch_eps``), the optional guidance interval
(``guides_at``, ``scale_at``: scales above 1 only at the noise levels where they help; at most 1 elsewhere;
an interval here is resolved: (lo, hi), or None for every step), ``GuidanceSteps`` (where a request wants
guidance to apply: the model's measured interval, every step, or lo … hi; only explorer.denoiser resolves it
to an interval), and the guidance scale's parser ``check_guidance`` (explorer.checks' family). Scales given
here are trusted as parsed. Maths only: the network is a ``Forward`` callable it is given
(explorer.denoiser's ``Denoiser.forward`` runs it in bounded batches, in its precision, through
explorer.server.shared_calls; a test may pass a plain function or module).
Does not know: sampling loops, how or when the network runs (batches, turns, precision), the UI, files.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Callable, ClassVar

import torch

from explorer.checks import number_between, whole_number
from explorer.schedules import NUM_TIMESTEPS, Schedule, predictions_from_output

MAX_GUIDANCE = 20.0


@dataclass(frozen=True)
class GuidanceSteps:
    """Where a guidance scale above 1 applies (elsewhere it is lowered to 1): ``GuidanceSteps.MEASURED``, the
    interval measured for the model (its config: the default), ``GuidanceSteps.EVERY_STEP``, or
    ``GuidanceSteps.between(lo, hi)``, the timesteps lo ≤ t ≤ hi. Only ``explorer.denoiser.Denoiser.interval``
    turns it into an interval, since only the model knows its measured one."""

    MEASURED: ClassVar[GuidanceSteps]
    EVERY_STEP: ClassVar[GuidanceSteps]
    kind: str  # "measured", "every step" or "between"
    interval: tuple[int, int] | None = None  # (lo, hi) for "between"; None for the other two

    def __post_init__(self):
        if (self.kind, self.interval is None) not in (("measured", True), ("every step", True), ("between", False)):
            raise ValueError(f"Not a place for guidance: {self!r}; use GuidanceSteps.MEASURED, .EVERY_STEP or "
                             f".between(lo, hi).")

    @classmethod
    def between(cls, lo, hi) -> GuidanceSteps:
        """Guidance above 1 only for timesteps lo ≤ t ≤ hi (whole numbers, 0 ≤ lo ≤ hi ≤ T−1)."""
        lo = whole_number(lo, "The first guided timestep", 0, NUM_TIMESTEPS - 1)
        return cls("between", (lo, whole_number(hi, "The last guided timestep", lo, NUM_TIMESTEPS - 1)))


GuidanceSteps.MEASURED = GuidanceSteps("measured")
GuidanceSteps.EVERY_STEP = GuidanceSteps("every step")


@dataclass(frozen=True)
class Prediction:
    """What the network says about x_t at step t. All tensors (B, 1, 28, 28)."""

    x0: torch.Tensor  # predicted clean image (unclipped)
    eps: torch.Tensor  # predicted noise, after guidance
    eps_cond: torch.Tensor | None = None  # the conditional branch alone (None when not run)
    eps_uncond: torch.Tensor | None = None  # the unconditional branch alone (None when not run)
    guesses: int = 0  # pictures that went through the network for this step (each branch of each picture once)


ModelFn = Callable[[torch.Tensor, int], Prediction]
Forward = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]  # the network: images x (B, 1, 28, 28),
# steps t (B,) long, classes y (B,) long → its output (B, 1, 28, 28) float32 (what ``prediction`` names)


def guide(eps_uncond: torch.Tensor, eps_cond: torch.Tensor, scale: float) -> torch.Tensor:
    """THE guidance formula, used everywhere: eps_u + s · (eps_c − eps_u)."""
    return eps_uncond + scale * (eps_cond - eps_uncond)


def check_guidance(scale) -> float:
    """A guidance scale: a finite number in [0, MAX_GUIDANCE] (strict: "1_0" is not 10), else a ValueError."""
    return number_between(scale, "Guidance scale", 0.0, MAX_GUIDANCE)


def make_model_fn(forward: Forward, schedule: Schedule, prediction: str, labels: torch.Tensor | None,
                  scale: float | torch.Tensor, null_class: int, interval: tuple[int, int] | None = None,
                  keep_branches: bool | torch.Tensor = False) -> ModelFn:
    """Wrap a class-conditional denoiser's ``forward`` as ``model_fn(x_t, t) -> Prediction``.

    labels (B,) long or None (None = unconditional, guidance does not apply). ``scale`` is one guidance
    scale, or a (B,) tensor of one scale per image (parsed: ``check_guidance``). ``interval`` = (t_lo, t_hi):
    scales above 1 apply only for t_lo ≤ t ≤ t_hi (None: at every step); elsewhere the scale is min(s, 1),
    so s ≥ 1 runs the conditional branch alone there and s = 0 stays unconditional everywhere.
    ``keep_branches`` also runs both branches when the scale would not need them, so the UI can show the
    steering signal: True for every image, or with per-image scales a (B,) bool mask of the images to show.
    """
    if torch.is_tensor(scale):
        if labels is not None:
            return _per_image_model_fn(forward, schedule, prediction, labels, scale.float().reshape(-1), null_class,
                                       interval, keep_branches)
        scale = 0.0  # told nothing: no scale applies
    scale = float(scale)

    def model_fn(x_t: torch.Tensor, t: int) -> Prediction:
        b = x_t.shape[0]
        t_batch = torch.full((b,), t, device=x_t.device, dtype=torch.long)  # (B,)
        null = torch.full((b,), null_class, device=x_t.device, dtype=torch.long)  # (B,)
        s = scale_at(scale, interval, t)
        need_both = labels is not None and (keep_branches is True or s not in (0.0, 1.0))
        if need_both:
            out = forward(torch.cat([x_t, x_t]), torch.cat([t_batch, t_batch]),
                          torch.cat([labels, null]))  # (2B, 1, 28, 28)
            _, eps_pair = predictions_from_output(schedule, torch.cat([x_t, x_t]), torch.cat([t_batch, t_batch]),
                                                  out, prediction)
            eps_cond, eps_uncond = eps_pair[:b], eps_pair[b:]
            eps = guide(eps_uncond, eps_cond, s)
            guesses = 2 * b
        else:
            y = labels if (labels is not None and s == 1.0) else null
            out = forward(x_t, t_batch, y)
            _, eps = predictions_from_output(schedule, x_t, t_batch, out, prediction)
            eps_cond, eps_uncond = (eps, None) if y is labels else (None, eps)
            guesses = b
        x0 = _x0_from_eps(schedule, x_t, t, eps)
        return Prediction(x0=x0, eps=eps, eps_cond=eps_cond, eps_uncond=eps_uncond, guesses=guesses)

    return model_fn


def _per_image_model_fn(forward: Forward, schedule: Schedule, prediction: str, labels: torch.Tensor,
                        scales: torch.Tensor, null_class: int, interval: tuple[int, int] | None,
                        shown: bool | torch.Tensor) -> ModelFn:
    """``model_fn`` with one scale per image: eps_i = (1 − s_i)·eps_u + s_i·eps_c, the guidance formula
    written as a weighted sum of the two branches, so a branch whose weight is 0 (s = 1: told nothing;
    s = 0: told the class) is not run, and ``branch_eps`` runs identical rows once (a grid's columns
    share one static, so they are the same picture until their scales first differ). The branches of
    the ``shown`` images are always run; a branch that was not run is NaN in the Prediction."""
    b = labels.shape[0]
    show = torch.as_tensor(shown, dtype=torch.bool, device=labels.device).expand(b)  # (B,)
    picture = torch.arange(b, device=labels.device).repeat(2)  # (2B,): the told-the-class rows, then the told-nothing
    label = torch.cat([labels, torch.full_like(labels, null_class)])  # (2B,)
    scales = scales.to(labels.device).view(-1)  # (B,)

    def model_fn(x_t: torch.Tensor, t: int) -> Prediction:
        s = scale_at(scales, interval, t)  # (B,)
        guided, branches = weighted_prediction(forward, schedule, prediction, x_t, t, picture, label,
                                               torch.cat([s, 1.0 - s]), run=show.repeat(2))
        return replace(guided, eps_cond=branches[:b], eps_uncond=branches[b:])

    return model_fn


def weighted_prediction(forward: Forward, schedule: Schedule, prediction: str, x_t: torch.Tensor, t: int,
                        picture: torch.Tensor, label: torch.Tensor, weight: torch.Tensor,
                        run: torch.Tensor | None = None) -> tuple[Prediction, torch.Tensor]:
    """Picture i's noise prediction as the weighted sum Σ weight[m]·eps(row m) over its rows m (those with
    picture[m] == i, each asking for class label[m]; all (M,)). A row whose weight is 0 is not run unless
    ``run`` (M,) bool asks for it; identical rows run once (``branch_eps``). Returns the Prediction (x0, eps,
    guesses) and every row's own eps (M, 1, 28, 28; NaN for a row not run)."""
    keep = weight != 0 if run is None else (weight != 0) | run  # (M,)
    eps_kept, guesses = branch_eps(forward, schedule, prediction, x_t, t, picture[keep], label[keep])
    rows = torch.full((len(picture), *x_t.shape[1:]), float("nan"), device=x_t.device)  # (M, 1, 28, 28)
    rows[keep] = eps_kept
    eps = torch.zeros_like(x_t).index_add_(0, picture[keep], weight[keep].view(-1, 1, 1, 1) * eps_kept)  # (B, ...)
    return Prediction(x0=_x0_from_eps(schedule, x_t, t, eps), eps=eps, guesses=guesses), rows


def branch_eps(forward: Forward, schedule: Schedule, prediction: str, x_t: torch.Tensor, t: int,
               picture: torch.Tensor, label: torch.Tensor) -> tuple[torch.Tensor, int]:
    """The network's noise prediction for each row m = (picture x_t[picture[m]], class label[m]) at step t:
    (M, 1, 28, 28), and how many rows went through the network: rows with the same picture and class once."""
    x_rows = x_t[picture]  # (M, 1, 28, 28)
    key = torch.cat([label[:, None].to(x_rows.dtype), x_rows.flatten(1)], dim=1)  # (M, 1 + 784)
    distinct, inverse = torch.unique(key, dim=0, return_inverse=True)  # (M', 1 + 784), (M,)
    x_distinct = distinct[:, 1:].reshape(-1, *x_t.shape[1:]).contiguous()  # (M', 1, 28, 28)
    t_distinct = torch.full((len(distinct),), t, device=x_t.device, dtype=torch.long)  # (M',)
    out = forward(x_distinct, t_distinct, distinct[:, 0].long())
    _, eps = predictions_from_output(schedule, x_distinct, t_distinct, out, prediction)  # (M', 1, 28, 28)
    return eps[inverse], len(distinct)


def guides_at(interval: tuple[int, int] | None, t: int) -> bool:
    """Whether scales above 1 apply at step t: inside ``interval`` (None: at every step)."""
    return interval is None or interval[0] <= t <= interval[1]


def scale_at(scale: float | torch.Tensor, interval: tuple[int, int] | None, t: int) -> float | torch.Tensor:
    """The guidance scale(s) used at step t: as given where ``guides_at``, else at most 1."""
    if guides_at(interval, t):
        return scale
    return scale.clamp(max=1.0) if torch.is_tensor(scale) else min(scale, 1.0)


def _x0_from_eps(schedule: Schedule, x_t: torch.Tensor, t: int, eps: torch.Tensor) -> torch.Tensor:
    ab = float(schedule.alpha_bar[t])
    return (x_t - math.sqrt(1 - ab) * eps) / math.sqrt(ab)

