"""Model folders on disk: ``config.json`` + ``model.safetensors`` (+ the ``README.md`` card).

Owns: writing and reading a model folder; the config travels with the weights, the weights'
SHA-256 is recorded in the config and checked on load, the network is rebuilt from the config and
loaded with ``strict=True``. Also the resumable training state (weights, EMA, optimiser moments as
safetensors; counters as JSON). Never unpickles anything.
Does not know: what the models are for, training loops, the UI.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from explorer.nets import build_network

FORMAT_VERSION = 1
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
CARD_FILE = "README.md"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _contiguous_state(model: nn.Module, dtype: torch.dtype) -> dict[str, torch.Tensor]:
    """The state dict on the CPU, floating-point tensors stored as ``dtype``."""
    return {k: (v.to(dtype) if v.is_floating_point() else v).detach().cpu().contiguous()
            for k, v in model.state_dict().items()}


def save_model(folder: Path, model: nn.Module, config: dict, weights_dtype: str = "float32") -> dict:
    """Write ``model``'s weights and ``config`` (which must hold ``architecture``) into ``folder``.

    ``weights_dtype="float16"`` halves the file (the denoisers stay under 10 MB); loading casts the
    weights back into the float32 network.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    weights = folder / WEIGHTS_FILE
    tmp = weights.with_suffix(".tmp")
    save_file(_contiguous_state(model, getattr(torch, weights_dtype)), str(tmp),
              metadata={"format_version": str(FORMAT_VERSION)})
    tmp.replace(weights)
    config = {**config, "format_version": FORMAT_VERSION, "weights_dtype": weights_dtype,
              "weights_sha256": sha256_of(weights)}
    write_config(folder, config)
    return config


def write_config(folder: Path, config: dict) -> None:
    path = Path(folder) / CONFIG_FILE
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
    tmp.replace(path)


def write_sampling(folder: Path, sampling: dict) -> dict:
    """Replace the config's "sampling" section (settings measured for these weights, e.g. the guidance
    interval) and nothing else; the weights and their checksum are untouched. Returns the new config."""
    config = {**read_config(folder), "sampling": sampling}
    write_config(folder, config)
    return config


def read_config(folder: Path) -> dict:
    path = Path(folder) / CONFIG_FILE
    if not path.exists():
        raise FileNotFoundError(f"No {CONFIG_FILE} in {folder}")
    config = json.loads(path.read_text())
    if config.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"{path}: format_version {config.get('format_version')!r}, expected {FORMAT_VERSION}")
    return config


def load_model(folder: Path, map_location: str | torch.device = "cpu") -> tuple[nn.Module, dict]:
    """Rebuild the network from ``config.json``, verify the SHA-256, load weights strictly."""
    folder = Path(folder)
    config = read_config(folder)
    weights = folder / WEIGHTS_FILE
    expected = config.get("weights_sha256")
    if expected and sha256_of(weights) != expected:
        raise ValueError(f"{weights}: SHA-256 does not match config.json (corrupt or replaced file)")
    model = build_network(config["architecture"])
    model.load_state_dict(load_file(str(weights), device=str(map_location)), strict=True)
    return model, config


# ----------------------------------------------------------------------------- training state

def save_training_state(folder: Path, tensors: dict[str, torch.Tensor], counters: dict) -> None:
    """Resumable state: named tensors (model, EMA, optimiser moments) + JSON counters."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / "state.tmp"
    save_file({k: v.detach().cpu().contiguous() for k, v in tensors.items()}, str(tmp))
    tmp.replace(folder / "state.safetensors")
    (folder / "state.json").write_text(json.dumps(counters, indent=2) + "\n")


def load_training_state(folder: Path) -> tuple[dict[str, torch.Tensor], dict] | None:
    folder = Path(folder)
    if not (folder / "state.safetensors").exists() or not (folder / "state.json").exists():
        return None
    return load_file(str(folder / "state.safetensors")), json.loads((folder / "state.json").read_text())
