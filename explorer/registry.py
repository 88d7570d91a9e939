"""Model names → lazily loaded, frozen models (``eval()``, no gradients), one copy per process.

Owns: where the shipped models live (``model_store/``) and which are shipped, the naming ``<dataset>-<family>``,
the snapshots a training run saved inside its model folder (``get_snapshots``), the lazy thread-safe cache,
moving a model to the compute device, and ``judge`` (the judge's network, for the demos: they reach a denoiser
through explorer.denoiser and the VAE and GAN through explorer.one_shot, never a ``LoadedModel.network``). An unknown
name is a ValueError that lists the known ones.
Does not know: what the models compute, sampling, the UI.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from explorer.checkpoints import CONFIG_FILE, load_model
from explorer.data import PROJECT_ROOT, dataset_info
from explorer.devices import compute_device
from explorer.nets import FAMILIES

MODEL_STORE = Path(os.environ.get("EXPLORER_MODEL_STORE") or PROJECT_ROOT / "model_store")


@dataclass(frozen=True)
class LoadedModel:
    name: str
    network: nn.Module
    config: dict
    device: torch.device


_cache: dict[tuple[str, str], LoadedModel] = {}
_lock = threading.Lock()


def known_models(store: Path = MODEL_STORE) -> list[str]:
    return sorted(p.parent.name for p in Path(store).glob(f"*/{CONFIG_FILE}"))


def model_name(dataset: str, family: str) -> str:
    """Validated ``<dataset>-<family>`` name."""
    info = dataset_info(dataset)
    if family not in FAMILIES:
        raise ValueError(f"Unknown family {family!r}. Known families: {', '.join(FAMILIES)}.")
    return f"{info.key}-{family}"


def is_shipped(dataset: str, family: str, store: Path = MODEL_STORE) -> bool:
    """Whether ``<dataset>-<family>`` is in the store (a family may be shipped for one dataset only)."""
    return model_name(dataset, family) in known_models(store)


def get_model(name: str, device: torch.device | None = None, store: Path = MODEL_STORE) -> LoadedModel:
    """The frozen model called ``name`` (e.g. "fashion-diffusion"), loaded once and cached."""
    device = device or compute_device()
    key = (str(Path(store) / name), str(device))
    with _lock:
        if key not in _cache:
            if name not in known_models(store):
                raise ValueError(f"Unknown model {name!r}. Known models: {', '.join(known_models(store)) or 'none'}.")
            network, config = load_model(Path(store) / name)
            network = network.to(device).eval().requires_grad_(False)
            _cache[key] = LoadedModel(name, network, config, device)
        return _cache[key]


def get(dataset: str, family: str, device: torch.device | None = None) -> LoadedModel:
    return get_model(model_name(dataset, family), device)


def judge(dataset: str) -> nn.Module:
    """The judge of ``dataset`` on the compute device: the classifier that names a picture's class."""
    return get(dataset, "judge").network


def get_snapshots(name: str, device: torch.device | None = None, store: Path = MODEL_STORE) -> list[LoadedModel]:
    """The snapshots of the training run that made model ``name`` (its config's "snapshots": model folders saved
    part of the way through), in the order they were saved, each loaded once and cached. Each folder's weights
    must match both its own config's SHA-256 and the one the run recorded; no snapshots is a ValueError."""
    config = get_model(name, device, store).config
    points = config.get("snapshots") or []
    if not points:
        raise ValueError(f"{name} was trained without snapshots (train it with --snapshots 0,1,10,100).")
    device = device or compute_device()
    loaded = []
    for point in points:
        folder = Path(store) / name / point["folder"]
        key = (str(folder), str(device))
        with _lock:
            if key not in _cache:
                network, snapshot_config = load_model(folder)
                if snapshot_config.get("weights_sha256") != point["weights_sha256"]:
                    raise ValueError(f"{folder}: SHA-256 does not match the one {name}/{CONFIG_FILE} recorded.")
                network = network.to(device).eval().requires_grad_(False)
                _cache[key] = LoadedModel(f"{name}/{point['folder']}", network, snapshot_config, device)
            loaded.append(_cache[key])
    return loaded
