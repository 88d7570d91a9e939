"""Training loops: one shared, resumable, time-budgeted loop; the per-family maths lives in recipes.

Owns: loading the training split, shuffling by (seed, epoch), the time budget, the learning-rate schedule
(linear warm-up; with ``anneal`` a cosine decay to zero over the budget), EMA of the weights, a warm start
from another model folder, the compute precision (explorer.precision's choice), keeping the config sections
that other code measured (``KEPT_SECTIONS``: a retrain keeps them), periodic resumable checkpoints in
``<out>/.train_state/``, the progress bar, and writing the final model folder (EMA weights + config + card) at
the end. Nothing runs at import time.
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


def train(settings: TrainSettings) -> dict:
    """Train (or resume) one model and write its folder. Returns the saved config."""
    run = _setup(settings)
    _resume_or_warm_start(run, settings)
    _loop(run, settings)
    save_training_state(run.state_dir, _state_tensors(run.model, run.ema, run.optimizers), run.counters)
    config = save_model(Path(settings.out), run.recipe.exportable(run.ema.shadow).cpu(),
                        _final_config(run, settings), run.recipe.weights_dtype)
    cards.write_card(Path(settings.out))
    return config


def _setup(settings: TrainSettings) -> _Run:
    info = data.dataset_info(settings.dataset)
    recipe = get_recipe(settings.family)
    device = compute_device(settings.device)
    images, labels = data.load_split(info.key, "train", settings.data_dir)
    torch.manual_seed(settings.seed)  # weight initialisation only; the CLI process does nothing else
    model = recipe.build(info).to(device)
    recipe.precision = precision.choose(device, model if recipe.family in denoiser.FAMILIES else None)
    batch = settings.batch_size or recipe.batch_size
    return _Run(info=info, recipe=recipe, device=device,
                x_all=data.to_model_range(images).to(device), y_all=torch.from_numpy(labels).to(device),
                model=model, optimizers=recipe.optimizers(model), ema=EMA(model, recipe.ema_decay), batch=batch,
                minutes=settings.minutes if settings.minutes is not None else recipe.default_minutes,
                state_dir=Path(settings.out) / STATE_DIR,
                counters={"step": 0, "epoch": 0, "elapsed_s": 0.0, "images_seen": 0, "batch_size": batch})


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
        t0 = time.monotonic()
        progress = max(counters["elapsed_s"] / budget_s, counters["step"] / (max_epochs * steps_per_epoch))
        _apply_learning_rate(run.optimizers, learning_rate_factor(counters["step"], run.recipe.warmup_steps,
                                                                  progress if settings.anneal else None))
        logs = run.recipe.step(run.model, run.optimizers, run.x_all[idx], run.y_all[idx], gen, counters["step"])
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
    }
    return {"family": recipe.family, "dataset": run.info.key, "class_names": list(run.info.class_names),
            "architecture": recipe.architecture(run.info), **recipe.extra_config(),
            "parameters": sum(p.numel() for p in run.model.parameters()), **kept, "training": training}


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
