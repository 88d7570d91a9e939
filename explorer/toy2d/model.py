"""The toy's denoiser, its training in chunks, and its sampler, for 2-D points.

Owns: ``ToyDenoiser`` (a small MLP: point, k and class in → the static it sees in the point out; class
``NULL_CLASS`` means "no class", for guidance), ``Trainer`` (the model, its optimiser and random generator, the
steps done and the losses, so that training can stop and resume; ``Trainer.run`` yields a ``Progress`` after
every chunk of steps, each chunk in its turn at the network, explorer.server.turns), ``sample`` (deterministic DDIM
steps with classifier-free guidance, explorer.guidance.guide, yielding every step's particles) and ``field``
(where the network would move a point at step k: the arrows). Everything in fp32 (a network this small gains
nothing from bf16), every random draw from an explicit generator: the same seed gives the same model and points.
Does not know: the UI, serving, files.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field as dataclass_field

import torch
from torch import nn

from explorer.checks import check_seed, whole_number
from explorer.guidance import check_guidance, guide
from explorer.server import turns
from explorer.toy2d.data import NUM_CLASSES, PointSet
from explorer.toy2d.forward import DEFAULT_SCHEDULE, MAX_K, schedule

NULL_CLASS = NUM_CLASSES  # the "no class" input (guidance's unconditional branch)
HIDDEN = 128
TIME_FEATURES = 16
P_UNCOND = 0.15  # share of training rows shown without their class
BATCH = 256
LEARNING_RATE = 3e-3
DEFAULT_STEPS = 2500  # a default run (measured ≈ 5-8 s on a 2-core AVX2/AVX-512 CPU, fp32)
MAX_TRAIN_STEPS = 10000  # one model's training, all runs together
CHUNK = 25  # steps per turn at the network (a few tens of milliseconds)
MAX_SAMPLE_STEPS = 200
DEFAULT_SAMPLE_STEPS = 50
MAX_PARTICLES = 2000
DEFAULT_PARTICLES = 600
DEFAULT_GUIDANCE = 1.0
CLIP = 4.0  # the guess of the clean point is kept within this box (the sets have spread 1)
START_T = 989  # sampling starts at k = 990 (t = 989), where √ᾱ = 0.014: static to the eye and to any test. From
# t = 999 (√ᾱ = 5e-5) one step's guess of the clean point divides the network's error by 5e-5 (measured on the
# default moons: one jump lands 3.8 from the data, from k = 990 1.5; 5 and 50 steps land the same either way)


class ToyDenoiser(nn.Module):
    """MLP: (x (B, 2), t (B,) in 0 … T−1, class (B,) in 0 … NULL_CLASS) → predicted static (B, 2)."""

    def __init__(self, hidden: int = HIDDEN, generator: torch.Generator | None = None):
        super().__init__()
        self.hidden = hidden
        self.classes = nn.Embedding(NUM_CLASSES + 1, hidden)
        self.inp = nn.Linear(2 + 2 * TIME_FEATURES, hidden)
        self.layers = nn.ModuleList([nn.Linear(hidden, hidden) for _ in range(3)])
        self.out = nn.Linear(hidden, 2)
        self.register_buffer("freqs", torch.exp(torch.linspace(0, math.log(200.0), TIME_FEATURES)), persistent=False)
        g = generator if generator is not None else torch.Generator().manual_seed(0)
        with torch.no_grad():
            for linear in (self.inp, *self.layers, self.out):
                nn.init.kaiming_uniform_(linear.weight, a=math.sqrt(5), generator=g)
                bound = 1 / math.sqrt(linear.in_features)
                nn.init.uniform_(linear.bias, -bound, bound, generator=g)
            nn.init.normal_(self.classes.weight, std=0.5, generator=g)
            self.out.weight.mul_(0.1)

    def forward(self, x: torch.Tensor, t: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        angles = (t.to(x.dtype)[:, None] / MAX_K) * self.freqs
        h = self.inp(torch.cat([x, torch.sin(angles), torch.cos(angles)], 1)) + self.classes(y)
        for layer in self.layers:
            h = h + layer(nn.functional.silu(h))
        return self.out(nn.functional.silu(h))


@dataclass
class Progress:
    """After a chunk of training: steps done, the latest chunk's mean loss, and the loss after every chunk."""

    step: int
    loss: float
    steps: list[int]
    losses: list[float]
    done: bool


@dataclass
class Trainer:
    """One model being trained on one point set; ``run`` continues where the last run stopped."""

    data: PointSet
    seed: int = 0
    schedule_name: str = DEFAULT_SCHEDULE
    model: ToyDenoiser = None
    step: int = 0
    steps_log: list[int] = dataclass_field(default_factory=list)
    losses: list[float] = dataclass_field(default_factory=list)

    def __post_init__(self) -> None:
        self.seed = check_seed(self.seed)
        self.generator = torch.Generator().manual_seed(self.seed)
        self.model = ToyDenoiser(generator=self.generator)
        self.optimiser = torch.optim.Adam(self.model.parameters(), lr=LEARNING_RATE)
        self.alpha_bar = schedule(self.schedule_name).alpha_bar.to(torch.float32)

    def _learning_rate(self) -> float:
        """Decays linearly to a tenth over the default run, then stays there."""
        return LEARNING_RATE * max(0.1, 1 - 0.9 * self.step / DEFAULT_STEPS)

    def train_steps(self, n: int) -> float:
        """``n`` optimiser steps (fewer at the cap); the mean loss (MSE of the predicted static)."""
        n = min(n, MAX_TRAIN_STEPS - self.step)
        if n <= 0:
            return float("nan")
        g, points, labels = self.generator, self.data.points, self.data.labels
        self.model.train()
        total = 0.0
        for _ in range(n):
            rows = torch.randint(0, points.shape[0], (BATCH,), generator=g)
            x0, y = points[rows], labels[rows].clone()
            y[torch.rand(BATCH, generator=g) < P_UNCOND] = NULL_CLASS
            t = torch.randint(0, MAX_K, (BATCH,), generator=g)
            noise = torch.randn(BATCH, 2, generator=g)
            ab = self.alpha_bar[t][:, None]
            x_t = ab.sqrt() * x0 + (1 - ab).sqrt() * noise
            loss = nn.functional.mse_loss(self.model(x_t, t, y), noise)
            for group in self.optimiser.param_groups:
                group["lr"] = self._learning_rate()
            self.optimiser.zero_grad(set_to_none=True)
            loss.backward()
            self.optimiser.step()
            self.step += 1
            total += float(loss.detach())
        self.model.eval()
        return total / n

    def run(self, steps: int = DEFAULT_STEPS, chunk: int = CHUNK) -> Iterator[Progress]:
        """Train ``steps`` more steps (up to MAX_TRAIN_STEPS in all), yielding after every ``chunk``; each chunk
        takes its turn at the network (explorer.server.turns) when run inside a flow."""
        steps = whole_number(steps, "Training steps", 1, MAX_TRAIN_STEPS)
        chunk = whole_number(chunk, "Chunk", 1, MAX_TRAIN_STEPS)
        end = min(self.step + steps, MAX_TRAIN_STEPS)
        while self.step < end:
            with turns.TURNS.turn():
                loss = self.train_steps(min(chunk, end - self.step))
            self.steps_log.append(self.step)
            self.losses.append(loss)
            yield Progress(self.step, loss, self.steps_log, self.losses, self.step >= end)

    @property
    def finished(self) -> bool:
        return self.step >= MAX_TRAIN_STEPS


@dataclass(frozen=True)
class Frame:
    """One sampling step: its number (0 = the static), the schedule's t it went to, the particles (N, 2)."""

    index: int
    t: int
    points: torch.Tensor


def sample_times(steps: int) -> list[int]:
    """The schedule's steps visited by ``steps`` sampling steps, from static (START_T) down, evenly spaced."""
    return [int(round(START_T - i * (START_T + 1) / steps)) for i in range(steps)]


@torch.no_grad()
def predict_static(model: nn.Module, x: torch.Tensor, t: int, labels: torch.Tensor, guidance: float) -> torch.Tensor:
    """The guided static the model sees in x (N, 2) at schedule step t: eps_u + s·(eps_c − eps_u)."""
    tt = torch.full((x.shape[0],), t, dtype=torch.long)
    if guidance == 0:
        return model(x, tt, torch.full_like(labels, NULL_CLASS))
    if guidance == 1:
        return model(x, tt, labels)
    both = model(torch.cat([x, x]), torch.cat([tt, tt]), torch.cat([labels, torch.full_like(labels, NULL_CLASS)]))
    cond, uncond = both.chunk(2)
    return guide(uncond, cond, guidance)


def particle_labels(n: int) -> torch.Tensor:
    """The particles' classes: alternately 0 and 1."""
    return torch.arange(n) % NUM_CLASSES


def sample(model: nn.Module, steps: int = DEFAULT_SAMPLE_STEPS, guidance: float = DEFAULT_GUIDANCE,
           n: int = DEFAULT_PARTICLES, seed: int = 0, schedule_name: str = DEFAULT_SCHEDULE,
           start: torch.Tensor | None = None) -> Iterator[Frame]:
    """Particles from static to the shape in ``steps`` deterministic DDIM steps; yields the static (index 0) and
    the particles after every step. Particle i has class i mod 2; ``start`` (n, 2) replaces the seed's static."""
    steps = whole_number(steps, "Steps", 1, MAX_SAMPLE_STEPS)
    guidance = check_guidance(guidance)
    n = whole_number(n, "Particles", 1, MAX_PARTICLES)
    seed = check_seed(seed)
    ab = schedule(schedule_name).alpha_bar.to(torch.float32)
    x = start.clone() if start is not None else torch.randn(n, 2, generator=torch.Generator().manual_seed(seed))
    labels = particle_labels(x.shape[0])
    times = sample_times(steps)
    yield Frame(0, times[0], x)
    for i, t in enumerate(times):
        with turns.TURNS.turn():
            eps = predict_static(model, x, t, labels, guidance)
        a = ab[t]
        x0 = ((x - (1 - a).sqrt() * eps) / a.sqrt()).clamp(-CLIP, CLIP)
        a_prev = ab[times[i + 1]] if i + 1 < steps else torch.tensor(1.0)
        x = a_prev.sqrt() * x0 + (1 - a_prev).sqrt() * eps
        yield Frame(i + 1, times[i + 1] if i + 1 < steps else -1, x)


def generate(model: nn.Module, **kwargs) -> list[Frame]:
    """Every frame of ``sample`` (the batch call drains the generator)."""
    return list(sample(model, **kwargs))


@torch.no_grad()
def field(model: nn.Module, k: int, grid: int = 15, extent: float = 3.0, label: int = NULL_CLASS,
          schedule_name: str = DEFAULT_SCHEDULE) -> tuple[torch.Tensor, torch.Tensor]:
    """Where the network would move points on a grid × grid lattice at k noising steps (k ≥ 1): (positions
    (G², 2), moves (G², 2)); the move is −(predicted static)·√(1−ᾱ), the step toward its guess of the clean point
    that removes the static it sees."""
    k = whole_number(k, "k", 1, MAX_K, "noising steps")
    axis = torch.linspace(-extent, extent, grid)
    xx, yy = torch.meshgrid(axis, axis, indexing="xy")
    pos = torch.stack([xx.flatten(), yy.flatten()], 1)
    ab = schedule(schedule_name).alpha_bar[k - 1].item()
    with turns.TURNS.turn():
        eps = model(pos, torch.full((pos.shape[0],), k - 1, dtype=torch.long), torch.full((pos.shape[0],), label))
    return pos, -eps * math.sqrt(1 - ab)


DEFAULT_SET = "moons"
_default_lock = threading.Lock()
_default: list[Trainer] = []


def trained_default() -> Trainer:
    """The default run (two moons, seed 0, DEFAULT_STEPS), trained once per process by this same code."""
    with _default_lock:
        if not _default:
            from explorer.toy2d.data import make_points

            trainer = Trainer(make_points(DEFAULT_SET), seed=0)
            for _ in trainer.run(DEFAULT_STEPS, chunk=100):
                pass
            _default.append(trainer)
        return _default[0]
