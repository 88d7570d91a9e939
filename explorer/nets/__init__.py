"""The networks, and the one place that builds a network from its config dict.

Owns: the model families (``FAMILIES``), the mapping from an architecture name in a checkpoint's
config to the class that builds it, and ``counting_passes`` (the images that go through a network in this thread).
Does not know: schedules, training, files, the UI.
"""

from __future__ import annotations

import importlib
import threading
from contextlib import contextmanager
from typing import Iterator

from torch import nn

FAMILIES = ("diffusion", "distilled", "vae", "gan", "judge")  # what a model folder's "family" may say
# ("distilled" is the fast copy the app shows; the key is a contract of folders, configs and --family)
ARCHITECTURES = {  # config "type" → (module, network class, config class)
    "unet": ("explorer.nets.unet", "UNet", "UNetConfig"),
    "judge": ("explorer.nets.judge", "Judge", "JudgeConfig"),
    "vae": ("explorer.nets.vae", "VAE", "VAEConfig"),
    "gan": ("explorer.nets.gan", "GAN", "GANConfig"),
}


def build_network(architecture: dict) -> nn.Module:
    """``{"type": "unet", ...config fields}`` → a freshly initialised network of that shape."""
    fields = {k: v for k, v in architecture.items() if k != "type"}
    kind = architecture.get("type")
    if kind not in ARCHITECTURES:
        raise ValueError(f"Unknown architecture type {kind!r}; known: {', '.join(ARCHITECTURES)}.")
    module_name, network_name, config_name = ARCHITECTURES[kind]
    module = importlib.import_module(module_name)
    config_class = getattr(module, config_name)
    config = config_class.from_dict(fields) if hasattr(config_class, "from_dict") else config_class(**fields)
    return getattr(module, network_name)(config)


@contextmanager
def counting_passes(module: nn.Module) -> Iterator[list[int]]:
    """Counts the images that go through ``module`` in this thread (other requests are not counted): ``[count]``."""
    thread, count = threading.get_ident(), [0]

    def hook(_module, args, _output):
        if threading.get_ident() == thread:
            count[0] += args[0].shape[0]

    handle = module.register_forward_hook(hook)
    try:
        yield count
    finally:
        handle.remove()
