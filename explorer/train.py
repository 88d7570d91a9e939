"""Training loops: one shared, resumable, time-budgeted loop; the per-family maths lives in recipes.

Owns: loading the training split, shuffling by (seed, epoch), the time budget, the learning-rate schedule
(linear warm-up; with ``anneal`` a cosine decay to zero over the budget), EMA of the weights, a warm start
from another model folder, the compute precision (explorer.precision's choice), keeping the config sections
that other code measured (``KEPT_SECTIONS``: a retrain keeps them), periodic resumable checkpoints in
``<out>/.train_state/``, the progress bar, writing the final model folder (EMA weights + config + card) at
the end, and, when asked (``snapshots``: percentages of the run), the EMA weights at those points of the run as
model folders ``<out>/snapshots/<percent>/`` (config + safetensors + SHA-256, like any model folder) with the
training loss along the run (``<out>/loss.json``). Nothing runs at import time.
Does not know: what a family's loss is (``explorer/recipes/``), the UI.
"""

from __future__ import annotations

import copy
import json
import math
import shlex
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from tqdm import tqdm

from explorer import cards, data, denoiser, precision
from explorer.checkpoints import (
    CONFIG_FILE,
    load_model,
    load_training_state,
    read_config,
    save_model,
    save_training_state,
)
from explorer.devices import compute_device
from explorer.recipes import get_recipe
from explorer.tools.machine import machine_summary

STATE_DIR = ".train_state"
SNAPSHOT_DIR = "snapshots"
LOSS_FILE = "loss.json"
LOSS_POINTS = 200  # the loss along the run is kept as at most this many averages of consecutive steps


@dataclass
class TrainSettings:
    dataset: str
    family: str
    out: Path
    minutes: float | None = None  # wall-clock budget; None = the recipe's default
    max_epochs: float | None = None  # stop after this many epochs, whichever comes first
    device: str = "auto"
    batch_size: int | None = None  # None = the recipe's batch size
    data_dir: str | None = None
    seed: int = 0
    checkpoint_every_s: float = 120.0
    init_from: Path | None = None  # start from this model folder's weights (optimiser and counters start fresh)
    anneal: bool = False  # decay the learning rate to zero (cosine) over the budget
    snapshots: tuple[float, ...] = ()  # percentages of the run (0 = untrained … 100 = final) to save the weights at
    base_channels: int | None = None  # the U-Net's width (None: the recipe's); smaller trains faster
    command: str = field(default_factory=lambda: "python -m explorer " + shlex.join(sys.argv[1:]))


class EMA:
    """Exponential moving average of a model's floating-point state, with the usual warm-up."""

    def __init__(self, model: torch.nn.Module, decay: float):
        self.decay = decay
        self.shadow = copy.deepcopy(model).eval().requires_grad_(False)

    @torch.no_grad()
    def update(self, model: torch.nn.Module, step: int) -> None:
        decay = min(self.decay, (1 + step) / (10 + step))
        pairs = list(zip(self.shadow.state_dict().values(), model.state_dict().values()))
        floats = [(s, p) for s, p in pairs if s.dtype.is_floating_point]
        torch._foreach_lerp_([s for s, _ in floats], [p for _, p in floats], 1 - decay)  # one fused kernel
        for s, p in pairs:
            if not s.dtype.is_floating_point:
                s.copy_(p)


def learning_rate_factor(step: int, warmup_steps: int, progress: float | None) -> float:
    """Multiplier of the recipe's base rate: linear warm-up, then 1, or a cosine from 1 to 0 over
    ``progress`` (the fraction of the budget done, 0…1) when annealing."""
    warm = min(1.0, (step + 1) / warmup_steps) if warmup_steps else 1.0
    if progress is None:
        return warm
    return warm * 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))


def _apply_learning_rate(optimizers, factor: float) -> None:
    for opt in optimizers:
        for group in opt.param_groups:
            group["lr"] = group.setdefault("base_lr", group["lr"]) * factor


def _warm_start(folder: Path, model, ema: EMA, recipe, info) -> dict:
    """Copy the weights of the model folder ``folder`` into ``model`` and the EMA; return its provenance.

    Only a folder of the same family, dataset and architecture is accepted."""
    source, config = load_model(Path(folder))
    wanted = (recipe.family, info.key, json.loads(json.dumps(recipe.architecture(info))))  # tuples as in the file
    found = (config.get("family"), config.get("dataset"), config.get("architecture"))
    if found != wanted:
        raise ValueError(f"--init-from {folder}: a {found[1]}-{found[0]} with architecture {found[2]} cannot start "
                         f"a {info.key}-{recipe.family} with architecture {wanted[2]}.")
    model.load_state_dict(source.state_dict())
    ema.shadow.load_state_dict(source.state_dict())
    return {"from": str(folder), "weights_sha256": config.get("weights_sha256"), "training": config.get("training")}


def _state_tensors(model, ema: EMA, optimizers) -> dict[str, torch.Tensor]:
    tensors = {f"model.{k}": v for k, v in model.state_dict().items()}
    tensors.update({f"ema.{k}": v for k, v in ema.shadow.state_dict().items()})
    for i, opt in enumerate(optimizers):
        for pid, st in opt.state_dict()["state"].items():
            for name, value in st.items():
                tensors[f"opt{i}.{pid}.{name}"] = torch.as_tensor(value)
    return tensors


def _restore_state(tensors: dict[str, torch.Tensor], model, ema: EMA, optimizers) -> None:
    model.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")}, strict=True)
    ema.shadow.load_state_dict({k[4:]: v for k, v in tensors.items() if k.startswith("ema.")}, strict=True)
    for i, opt in enumerate(optimizers):
        sd = opt.state_dict()
        prefix = f"opt{i}."
        for key, value in tensors.items():
            if key.startswith(prefix):
                pid, name = key[len(prefix):].split(".", 1)
                sd["state"].setdefault(int(pid), {})[name] = value
        opt.load_state_dict(sd)


KEPT_SECTIONS = ("sampling",)  # config sections measured by other code (explorer.tools), kept across retrains


@dataclass
class _Run:
    """Everything one training run holds while it runs."""

    info: data.DatasetInfo
    recipe: object
    device: torch.device
    x_all: torch.Tensor  # (N, 1, 28, 28) in [-1, 1]
    y_all: torch.Tensor  # (N,)
    model: torch.nn.Module
    optimizers: list
    ema: EMA
    batch: int
    minutes: float
    state_dir: Path
    counters: dict
    snapshots: list = field(default_factory=list)  # the snapshot percentages still to save, ascending
    saved: list = field(default_factory=list)  # {"percent", "step", "images_seen", "folder", "weights_sha256"}
    losses: list = field(default_factory=list)  # the loss of every step of this run


def check_snapshots(percentages) -> tuple[float, ...]:
    """Snapshot points as percentages of the run, each from 0 to 100, ascending without repeats."""
    values = tuple(sorted({float(p) for p in percentages}))
    if any(not 0 <= p <= 100 for p in values):
        raise ValueError(f"Snapshots are percentages of the run, from 0 (untrained) to 100 (final); got {values}.")
    return values


def train(settings: TrainSettings) -> dict:
    """Train (or resume) one model and write its folder. Returns the saved config."""
    run = _setup(settings)
    _resume_or_warm_start(run, settings)
    _loop(run, settings)
    save_training_state(run.state_dir, _state_tensors(run.model, run.ema, run.optimizers), run.counters)
    while run.snapshots:  # the rest (100 %: the final weights)
        _save_snapshot(run, settings, run.snapshots.pop(0))
    config = save_model(Path(settings.out), run.recipe.exportable(run.ema.shadow).cpu(),
                        _final_config(run, settings), run.recipe.weights_dtype)
    cards.write_card(Path(settings.out))
    return config


def _setup(settings: TrainSettings) -> _Run:
    info = data.dataset_info(settings.dataset)
    recipe = get_recipe(settings.family)
    if settings.base_channels is not None:
        if settings.family != "diffusion":
            raise ValueError(f"--base-channels is for the diffusion recipe; the {settings.family} recipe sets "
                             "its own.")
        recipe.base_channels = int(settings.base_channels)
    device = compute_device(settings.device)
    images, labels = data.load_split(info.key, "train", settings.data_dir)
    torch.manual_seed(settings.seed)  # weight initialisation only; the CLI process does nothing else
    model = recipe.build(info).to(device)
    recipe.precision = precision.choose(device, model if recipe.family in denoiser.FAMILIES else None).precision
    batch = settings.batch_size or recipe.batch_size
    return _Run(info=info, recipe=recipe, device=device,
                x_all=data.to_model_range(images).to(device), y_all=torch.from_numpy(labels).to(device),
                model=model, optimizers=recipe.optimizers(model), ema=EMA(model, recipe.ema_decay), batch=batch,
                minutes=settings.minutes if settings.minutes is not None else recipe.default_minutes,
                state_dir=Path(settings.out) / STATE_DIR,
                counters={"step": 0, "epoch": 0, "elapsed_s": 0.0, "images_seen": 0, "batch_size": batch},
                snapshots=list(check_snapshots(settings.snapshots)))


def _resume_or_warm_start(run: _Run, settings: TrainSettings) -> None:
    """Continue from ``<out>/.train_state/`` when it exists, else start from ``init_from``'s weights if given."""
    restored = load_training_state(run.state_dir)
    if restored is None:
        if settings.init_from is not None:
            run.counters["warm_start"] = _warm_start(settings.init_from, run.model, run.ema, run.recipe, run.info)
        return
    _restore_state(restored[0], run.model, run.ema, run.optimizers)
    run.counters = restored[1]
    if run.counters.get("batch_size", run.batch) != run.batch:
        raise ValueError(f"{run.state_dir} was trained with batch size {run.counters['batch_size']}, not {run.batch}: "
                         "resume with the same --batch-size, or delete that folder to start again.")
    print(f"Resuming {settings.out} at step {run.counters['step']} "
          f"({run.counters['elapsed_s'] / 60:.1f} of {run.minutes:.1f} minutes done)", file=sys.stderr)


def _loop(run: _Run, settings: TrainSettings) -> None:
    """Steps until the time budget (or the epoch limit) is spent, checkpointing every so often."""
    counters, batch = run.counters, run.batch
    gen = torch.Generator(device=run.device)
    n = run.x_all.shape[0]
    steps_per_epoch = n // batch
    max_epochs = settings.max_epochs or float("inf")
    budget_s = run.minutes * 60.0
    last_save = time.monotonic()
    bar = tqdm(desc=f"{run.info.key}-{run.recipe.family}", unit="step", initial=counters["step"], dynamic_ncols=True)
    run.model.train()
    perm_epoch, perm = None, None  # this epoch's shuffle, drawn once per epoch
    while counters["elapsed_s"] < budget_s and counters["step"] < max_epochs * steps_per_epoch:
        epoch, within = divmod(counters["step"], steps_per_epoch)
        if perm_epoch != epoch:
            shuffle = torch.Generator().manual_seed(settings.seed * 100003 + epoch)
            perm = torch.randperm(n, generator=shuffle).to(run.device)
            perm_epoch = epoch
        idx = perm[within * batch:(within + 1) * batch]
        gen.manual_seed(settings.seed * 1_000_003 + counters["step"])
        progress = max(counters["elapsed_s"] / budget_s, counters["step"] / (max_epochs * steps_per_epoch))
        while run.snapshots and run.snapshots[0] < 100 and run.snapshots[0] <= 100 * progress:
            _save_snapshot(run, settings, run.snapshots.pop(0))
        t0 = time.monotonic()
        _apply_learning_rate(run.optimizers, learning_rate_factor(counters["step"], run.recipe.warmup_steps,
                                                                  progress if settings.anneal else None))
        logs = run.recipe.step(run.model, run.optimizers, run.x_all[idx], run.y_all[idx], gen, counters["step"])
        if "loss" in logs:
            run.losses.append((counters["step"], logs["loss"]))
        run.ema.update(run.model, counters["step"])
        counters["step"] += 1
        counters["epoch"] = counters["step"] / steps_per_epoch
        counters["images_seen"] += batch
        counters["elapsed_s"] += time.monotonic() - t0
        bar.update(1)
        if counters["step"] % 20 == 0:
            bar.set_postfix(epoch=f"{counters['epoch']:.2f}",
                            min=f"{counters['elapsed_s'] / 60:.1f}/{run.minutes:.0f}",
                            **{k: f"{v:.4f}" for k, v in logs.items()})
        if time.monotonic() - last_save > settings.checkpoint_every_s:
            save_training_state(run.state_dir, _state_tensors(run.model, run.ema, run.optimizers), counters)
            last_save = time.monotonic()
    bar.close()


def _save_snapshot(run: _Run, settings: TrainSettings, percent: float) -> None:
    """The EMA weights now, as the model folder ``<out>/snapshots/<percent>/``; the loss so far in ``loss.json``."""
    name = f"{percent:g}".replace(".", "_")
    folder = Path(settings.out) / SNAPSHOT_DIR / name
    counters = run.counters
    point = {"percent": percent, "step": counters["step"], "images_seen": counters["images_seen"],
             "train_minutes": round(counters["elapsed_s"] / 60, 3)}
    config = save_model(folder, run.recipe.exportable(run.ema.shadow).cpu(),
                        {"family": run.recipe.family, "dataset": run.info.key,
                         "class_names": list(run.info.class_names), "architecture": run.recipe.architecture(run.info),
                         **run.recipe.extra_config(), "parameters": sum(p.numel() for p in run.model.parameters()),
                         "snapshot_of": str(settings.out), "snapshot": point},
                        run.recipe.weights_dtype)
    run.ema.shadow.to(run.device)
    run.saved.append({**point, "folder": f"{SNAPSHOT_DIR}/{name}", "weights_sha256": config["weights_sha256"]})
    _write_losses(run, Path(settings.out))


def _write_losses(run: _Run, out: Path) -> None:
    """The loss along the run, averaged over windows of consecutive steps: {"step": [...], "loss": [...]}."""
    window = max(1, math.ceil(len(run.losses) / LOSS_POINTS))
    chunks = [run.losses[i:i + window] for i in range(0, len(run.losses), window)]
    curve = {"step": [chunk[-1][0] + 1 for chunk in chunks],  # steps done at the end of each window
             "loss": [round(sum(v for _, v in chunk) / len(chunk), 5) for chunk in chunks],
             "window_steps": window}
    out.mkdir(parents=True, exist_ok=True)
    (out / LOSS_FILE).write_text(json.dumps(curve) + "\n")


def _final_config(run: _Run, settings: TrainSettings) -> dict:
    counters, recipe = run.counters, run.recipe
    kept, kept_from = _kept_sections(settings)
    training = {
        "command": settings.command,
        "settings": {k: str(v) for k, v in asdict(settings).items() if k != "command"},
        "batch_size": run.batch,
        "steps": counters["step"],
        "epochs": round(counters["epoch"], 3),
        "images_seen": counters["images_seen"],
        "train_minutes": round(counters["elapsed_s"] / 60, 2),
        "machine": machine_summary(run.device),
        "finished": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        **recipe.training_notes(),
        **({"learning_rate_schedule": "cosine decay to zero over the budget"} if settings.anneal else {}),
        **({"warm_start": counters["warm_start"]} if "warm_start" in counters else {}),
        **({"kept_sections": kept_from} if kept_from else {}),
        **({"base_channels": settings.base_channels} if settings.base_channels is not None else {}),
    }
    return {"family": recipe.family, "dataset": run.info.key, "class_names": list(run.info.class_names),
            "architecture": recipe.architecture(run.info), **recipe.extra_config(),
            "parameters": sum(p.numel() for p in run.model.parameters()), **kept, "training": training,
            **({"snapshots": run.saved, "loss_file": LOSS_FILE} if run.saved else {})}


def _kept_sections(settings: TrainSettings) -> tuple[dict, dict]:
    """KEPT_SECTIONS of the folder being retrained, else of the warm start's source; and where each came from.

    They were measured for earlier weights: the card says so, and re-measuring rewrites them.
    """
    kept, kept_from = {}, {}
    for folder in (Path(settings.out), settings.init_from):
        if folder is None or not (Path(folder) / CONFIG_FILE).exists():
            continue
        old = read_config(Path(folder))
        for section in KEPT_SECTIONS:
            if section in old and section not in kept:
                kept[section] = old[section]
                kept_from[section] = (f"carried over from {folder}/{CONFIG_FILE} (measured for the weights "
                                      f"trained before this run; re-measure to refresh)")
    return kept, kept_from
