"""The one device resolver: which torch device computes, for the app, the tools and training.

Owns: "auto" (CUDA when present, else the CPU), ``$EXPLORER_DEVICE`` as the default when no name is
given (e.g. "cpu" to measure the CPU on a GPU machine), and a clear error when CUDA is asked for
but absent.
Does not know: models, precision (explorer.precision), the UI.
"""

from __future__ import annotations

import os

import torch


def compute_device(name: str | None = None) -> torch.device:
    """``name`` ("auto", "cpu", "cuda", "cuda:1"…); None: ``$EXPLORER_DEVICE``, else auto."""
    name = name or os.environ.get("EXPLORER_DEVICE") or "auto"
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"Device {name!r} was asked for, but no CUDA device is available.")
    return torch.device(name)
