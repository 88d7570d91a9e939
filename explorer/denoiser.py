"""One object per shipped denoiser: the only way demos and tools reach a denoising network.

Owns: ``Denoiser`` (frozen: the network — private, run only through its methods —, its schedule, prediction type,
null class, the guidance interval measured for it — or, for a fast copy (family "distilled": a smaller network
taught by guidance distillation), the one guidance it learned from its full model and so the only one it can
give —, the device and the compute precision chosen for that device,
with the weight layout that is fastest for that precision), built once per model and
process by ``get``; ``interval``, the one place where a request's GuidanceSteps becomes the timesteps guidance
applies at; the guided ``model_fn`` for labels and a scale (explorer.guidance's maths); ``steering_fn``,
the steering of pictures that each ask for one or more classes; ``guesses``, the network's plain guesses of the
clean picture and of the noise (no guidance, any timestep per picture); ``guided_steps``, the steps of a run where
guidance above 1 applies; ``counting_passes``, the images that go through the network in this thread; the reverse
steps and final images of a request, from one seed's static or one static per seed; and ``run_network``, the one
way the network runs: in bounded batches (at most ``MAX_NETWORK_BATCH`` images per call, so a request for 1,000
pictures costs 1,000 pictures' time and a bounded amount of memory), in the precision chosen for the device, small
calls on one CPU thread where a second buys nothing (explorer.call_threads), each
call in its turn at the network (explorer.server.turns) and shared with other requests' rows that want the same
network at the same moment (explorer.server.shared_calls). Values come parsed (a SamplingSettings, a checked seed and
scale): the Denoiser trusts them. A fast copy refuses what it cannot give (other scales or intervals, the
two guesses apart, plain guesses, several classes at once) with a ValueError that names its full model.
Does not know: the UI, plots, metrics, files (explorer.registry loads the weights).
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Iterator, Sequence

import torch
from torch import nn

from explorer import call_threads, nets, precision, registry
from explorer import precision as precisions  # run_network's parameter is named precision
from explorer.guidance import (
    GuidanceSteps,
    ModelFn,
    Prediction,
    guides_at,
    make_model_fn,
    scale_at,
    weighted_prediction,
)
from explorer.nets.stack import NetworkStack
from explorer.samplers import Step, sample_steps, timesteps_for
from explorer.sampling import DEFAULTS, SamplingSettings, labels_tensor, starting_static, static_per_seed
from explorer.schedules import Schedule, make_schedule, predictions_from_output
from explorer.server import shared_calls

MAX_NETWORK_BATCH = 256  # images per network forward; larger batches are split (same results, bounded memory)


@dataclass(frozen=True)
class Denoiser:
    name: str
    dataset: str
    _network: nn.Module = field(repr=False)  # run only through the methods below (explorer.server.turns, shared calls)
    schedule: Schedule
    prediction: str  # what the network outputs: "eps", "v" or "x0"
    null_class: int  # the label that means "told nothing" (the unconditional branch)
    guidance_interval: tuple[int, int] | None  # measured: s > 1 only for lo ≤ t ≤ hi (None: none measured, every step)
    device: torch.device
    precision: str  # "fp32" or "bf16" (explorer.precision's choice for the device, for large batches)
    config: dict
    built_in_guidance: float | None = None  # a fast copy's learned scale (inside guidance_interval); None: guides
    fp32_below: int = 0  # forwards of fewer images run in fp32 even when precision is bf16 (measured faster there)
    one_thread_below: int = 0  # forwards of fewer images run on one CPU thread (explorer.call_threads: measured)

    def model_fn(self, labels: torch.Tensor | None, scale: float | torch.Tensor,
                 where: GuidanceSteps = GuidanceSteps.MEASURED, keep_branches: bool | torch.Tensor = False) -> ModelFn:
        """Guided ``model_fn(x_t, t)`` for ``labels`` (B,) (None: unconditional) at ``scale`` (one, or (B,); parsed),
        above 1 only where ``where`` says (``interval``)."""
        if self.built_in_guidance is not None:
            self._check_built_in(scale, where, keep_branches)
            return make_model_fn(self._forward, self.schedule, self.prediction, labels, 1.0,
                                 self.null_class)  # one call: the told-the-class row gives the guided guess
        return make_model_fn(self._forward, self.schedule, self.prediction, labels, scale, self.null_class,
                             interval=self.interval(where), keep_branches=keep_branches)

    def interval(self, where: GuidanceSteps) -> tuple[int, int] | None:
        """The timesteps lo … hi where a scale above 1 applies for ``where`` (the one place a GuidanceSteps is
        resolved): MEASURED is this model's measured interval, between(lo, hi) is (lo, hi); None: every step."""
        return self.guidance_interval if where == GuidanceSteps.MEASURED else where.interval

    def steering_fn(self, asked: Sequence[Sequence[int]], scale: float,
                    where: GuidanceSteps = GuidanceSteps.MEASURED) -> ModelFn:
        """``model_fn(x_t, t)`` for pictures that each ask for one or more classes (``asked[i]``: picture i's classes).

        Picture i's noise prediction is eps_u + s · Σ_k (eps_k − eps_u): each class asked for adds its own
        steering signal (for one class this is explorer.guidance's formula). As there, s (parsed) above 1 applies
        only where ``where`` says (``interval``); elsewhere s is lowered to 1. All branches of all pictures (told
        nothing, told each class) go through the network in one batched call per step; a branch whose weight is 0
        is skipped, and identical rows run once.
        """
        self._refuse_if_fast_copy("steer towards several classes at once")
        chosen = self.interval(where)
        picture, label, counts = [], [], []  # one entry per branch row
        for i, classes in enumerate(asked):
            picture += [i] * (len(classes) + 1)
            label += [self.null_class, *classes]
            counts += [len(classes)] * (len(classes) + 1)
        picture_t = torch.tensor(picture, device=self.device)  # (M,)
        label_t = torch.tensor(label, device=self.device)  # (M,)
        is_null = label_t == self.null_class  # (M,)
        count_t = torch.tensor(counts, dtype=torch.float32, device=self.device)  # (M,)

        def model_fn(x_t: torch.Tensor, t: int) -> Prediction:
            s = scale_at(scale, chosen, t)
            weight = torch.where(is_null, 1.0 - s * count_t, torch.full_like(count_t, s))  # (M,)
            guided, _ = weighted_prediction(self._forward, self.schedule, self.prediction, x_t, t, picture_t,
                                            label_t, weight)
            return guided

        return model_fn

    def guesses(self, x_t: torch.Tensor, t: torch.Tensor,
                labels: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        """The network's plain guesses for noisy pictures x_t (B, 1, 28, 28), each at its own schedule timestep
        t (B,), told ``labels`` (B,) (None: told nothing): the clean picture and the noise, each (B, 1, 28, 28),
        unclipped, on this model's device. One batched network call, no guidance (s = 1)."""
        self._refuse_if_fast_copy("give its plain guesses (s = 1)")
        x_t, t = x_t.to(self.device), t.to(self.device)
        y = torch.full_like(t, self.null_class) if labels is None else labels.to(self.device)  # (B,)
        return predictions_from_output(self.schedule, x_t, t, self._forward(x_t, t, y), self.prediction)

    def guided_steps(self, steps: int, where: GuidanceSteps = GuidanceSteps.MEASURED) -> tuple[int, ...]:
        """The 1-based steps of a ``steps``-step run where s above 1 applies (``where``: see ``interval``)."""
        chosen = self.interval(where)
        return tuple(i + 1 for i, t in enumerate(timesteps_for(self.schedule, steps)) if guides_at(chosen, t))

    @contextmanager
    def counting_passes(self) -> Iterator[list[int]]:
        """Counts the images that go through the network in this thread while the block runs: ``[count]``."""
        with nets.counting_passes(self._network) as count:
            yield count

    def _forward(self, x: torch.Tensor, t: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """The network's output for images x (B, 1, 28, 28), steps t (B,) and classes y (B,): ``run_network``."""
        return run_network(self._network, x, t, y, self.precision, self.fp32_below, self.one_thread_below)

    def _check_built_in(self, scale, where: GuidanceSteps, keep_branches) -> None:
        """A fast copy gives only the guidance it learned: anything else is a ValueError naming its full model."""
        scales = scale.reshape(-1).tolist() if torch.is_tensor(scale) else [scale]
        same_interval = self.interval(where) == self.guidance_interval
        if any(float(s) != self.built_in_guidance for s in scales) or not same_interval or keep_branches is not False:
            full_model = self._full_model()
            raise ValueError(f"{self.name} learned one guidance only: s = {self.built_in_guidance:g} for t in "
                             f"{list(self.guidance_interval) if self.guidance_interval else 'every step'}, in one "
                             f"network call, so it cannot show the two guesses apart. Use {full_model} for other "
                             "scales, intervals or the two guesses.")

    def _refuse_if_fast_copy(self, what: str) -> None:
        """A fast copy cannot ``what``: a ValueError naming its full model (a full model passes)."""
        if self.built_in_guidance is not None:
            raise ValueError(f"{self.name} learned one guidance only (s = {self.built_in_guidance:g}, in one network "
                             f"call), so it cannot {what}. Use {self._full_model()} for that.")

    def _full_model(self) -> str:
        """The name of the full model a fast copy learned from (its config's "distilled_from")."""
        return self.config["distilled_from"]["model"]

    def steps(self, labels, seed: int | Sequence[int], settings: SamplingSettings = DEFAULTS,
              batch: int | None = None, keep_branches: bool = False, start: torch.Tensor | None = None,
              start_t: int | None = None) -> Iterator[Step]:
        """Reverse steps for ``labels`` (class ids or names; None = unconditional, ``batch`` pictures), made as
        ``settings`` say (valid by construction; a fast copy refuses any guidance but its own).

        ``seed`` (parsed: explorer.checks.check_seed): one seed for the whole batch, or one seed per picture (each
        picture then starts from the static a one-picture run of that seed starts from).
        ``start`` (B, 1, 28, 28) with ``start_t``: begin from this picture, already noised to schedule timestep
        ``start_t``, instead of the seed's pure static (the seed still draws any later static); ``settings.steps``
        steps then run from ``start_t`` down to 0.
        """
        y = labels_tensor(self.dataset, labels, self.device)  # (B,) or None
        if isinstance(seed, (list, tuple)):
            x_T, gen = static_per_seed(seed, self.device)
        else:
            x_T, gen = starting_static(seed, len(y) if y is not None else (batch or 1), self.device)
        if (start is None) != (start_t is None):
            raise ValueError("A run from a noised picture needs both the picture and its timestep.")
        if start is not None:
            if start.shape != x_T.shape:
                raise ValueError(f"The starting pictures must have shape {tuple(x_T.shape)}, "
                                 f"got {tuple(start.shape)}.")
            x_T = start.to(self.device, torch.float32)  # (B, 1, 28, 28)
        model_fn = self.model_fn(y, settings.guidance, settings.guidance_steps, keep_branches)
        return sample_steps(model_fn, self.schedule, x_T, sampler=settings.sampler, steps=settings.steps,
                            eta=settings.eta, generator=gen, clip_x0=settings.clip_x0, start_t=start_t)

    def images(self, labels, seed: int | Sequence[int], settings: SamplingSettings = DEFAULTS,
               batch: int | None = None) -> torch.Tensor:
        """Final images (B, 1, 28, 28) in [-1, 1]."""
        last = None
        for last in self.steps(labels, seed, settings, batch):
            pass
        return last.x_next.clamp(-1, 1)


def run_network(network: nn.Module, x: torch.Tensor, t: torch.Tensor, y: torch.Tensor, precision: str,
                fp32_below: int = 0, one_thread_below: int = 0) -> torch.Tensor:
    """network(x, t, y) in chunks of at most MAX_NETWORK_BATCH images, each call in its turn (explorer.server.turns)
    and shared with other requests' rows for the same network that wait at the same moment
    (explorer.server.shared_calls), in ``precision``, or fp32 for a call of fewer than ``fp32_below`` images, on one
    CPU thread for a call of fewer than ``one_thread_below`` (both counted after sharing): (B, 1, 28, 28) float32."""
    choice = precisions.Choice(precision, fp32_below)

    def forward(xb: torch.Tensor, tb: torch.Tensor, yb: torch.Tensor) -> torch.Tensor:
        rows = xb.shape[0]
        with (call_threads.running_on(call_threads.threads_for(rows, one_thread_below)), torch.inference_mode(),
              precisions.autocast(xb.device, choice.for_batch(rows))):
            return network(xb, tb, yb).float()  # (b, 1, 28, 28)

    key = (network, choice, one_thread_below)
    return torch.cat([shared_calls.run(key, forward, x[i:i + MAX_NETWORK_BATCH], t[i:i + MAX_NETWORK_BATCH],
                                       y[i:i + MAX_NETWORK_BATCH])
                      for i in range(0, x.shape[0], MAX_NETWORK_BATCH)])


_cache: dict[tuple[str, str], Denoiser] = {}
_lock = threading.Lock()


FAMILIES = ("diffusion", "distilled")  # the full model (real guidance) and its fast copy: the family key "distilled"
# (in configs, folder names, --family) is the fast copy, a contract that keeps its name


def get(dataset: str, device: torch.device | None = None, family: str = "diffusion") -> Denoiser:
    """The denoiser of ``dataset`` on ``device`` (default: the compute device), built once per process.

    ``family``: "diffusion" (the full model) or "distilled" (its fast copy)."""
    if family not in FAMILIES:
        raise ValueError(f"Family {family!r} is not a denoiser; use one of: {', '.join(FAMILIES)}.")
    loaded = registry.get(dataset, family, device)
    key = (loaded.name, str(loaded.device))
    with _lock:
        if key not in _cache:
            _cache[key] = _build(loaded)
        return _cache[key]


LEARNING = "fashion-learning"  # the small denoiser trained with snapshots, for "Watch it learn"


def snapshots(name: str = LEARNING, device: torch.device | None = None) -> list[tuple[dict, Denoiser]]:
    """The denoiser ``name`` at each snapshot of its training run: (the snapshot's point — percent, step,
    images_seen, train_minutes —, its Denoiser), in training order (the last is the finished network)."""
    built = []
    for loaded in registry.get_snapshots(name, device):
        key = (loaded.name, str(loaded.device))
        with _lock:
            if key not in _cache:
                _cache[key] = _build(loaded)
            built.append((loaded.config["snapshot"], _cache[key]))
    return built


def snapshot_stack(name: str = LEARNING, device: torch.device | None = None) -> tuple[list[dict], Denoiser]:
    """The snapshots of ``snapshots(name)`` as one Denoiser whose network call runs them all at once
    (explorer.nets.stack: row j goes to snapshot j mod R, so picture i of a batch of R is snapshot i's), with
    their points in training order; built once per process. Its precision is the snapshots' own choice."""
    built = snapshots(name, device)
    key = (f"{name} (stacked)", str(built[0][1].device))
    with _lock:
        if key not in _cache:
            first = built[0][1]
            _cache[key] = replace(first, name=key[0], _network=NetworkStack([model._network for _, model in built]))
        return [point for point, _ in built], _cache[key]


def _build(loaded: registry.LoadedModel) -> Denoiser:
    cfg = loaded.config
    learned = cfg.get("distilled_from")  # a fast copy: the guidance its full model taught it
    interval = learned["guidance_interval"] if learned else cfg.get("sampling", {}).get("guidance_interval")
    chosen = precision.choose(loaded.device, loaded.network)
    _set_layout(loaded.network, loaded.device, chosen.precision)
    one_thread_below = call_threads.choose(loaded.device, loaded.network, chosen)
    return Denoiser(name=loaded.name, dataset=cfg["dataset"], _network=loaded.network,
                    schedule=make_schedule(cfg["schedule"]["name"], cfg["schedule"]["num_timesteps"]),
                    prediction=cfg["prediction"], null_class=cfg["architecture"]["num_classes"],
                    guidance_interval=tuple(interval) if interval else None, device=loaded.device,
                    precision=chosen.precision, config=cfg, built_in_guidance=learned["guidance"] if learned else None,
                    fp32_below=chosen.fp32_below, one_thread_below=one_thread_below)


def _set_layout(network: nn.Module, device: torch.device, chosen: str) -> None:
    """Channels-last weights for fp32 on the CPU, where they were measured faster (benchmarks/cpu-levers.json:
    batch 2 17.0 → 13.1 ms and batch 160 706 → 627 ms with torch limited to AVX2; 699 → 579 ms at batch 160
    on AVX-512); bf16 keeps the default layout, which measured faster there (329 against 382 ms at batch 160)."""
    if device.type == "cpu" and chosen == "fp32":
        network.to(memory_format=torch.channels_last)
