"""Per-family training recipes: the model to build, its optimisers, and one training step.

Owns: the mapping family name → recipe, and the recipe interface the shared loop in
``explorer/train.py`` calls. A recipe's optimisers carry its base learning rates; the loop applies
the warm-up (and, when asked, the anneal) on top of them.
Does not know: files, time budgets, EMA, the UI.
"""

from __future__ import annotations

import importlib
from typing import Protocol

import torch
from torch import nn

from explorer.data import DatasetInfo
from explorer.nets import FAMILIES

RECIPES = {  # family → (module, recipe class)
    "diffusion": ("explorer.recipes.diffusion", "DiffusionRecipe"),
    "distilled": ("explorer.recipes.distilled", "DistilledRecipe"),
    "judge": ("explorer.recipes.judge", "JudgeRecipe"),
    "vae": ("explorer.recipes.vae", "VAERecipe"),
    "gan": ("explorer.recipes.gan", "GANRecipe"),
}


class Recipe(Protocol):
    family: str
    batch_size: int
    default_minutes: float
    ema_decay: float
    weights_dtype: str  # how model.safetensors stores floats: "float32" or "float16"
    warmup_steps: int  # the shared loop ramps each optimiser's learning rate up linearly over these steps

    def architecture(self, info: DatasetInfo) -> dict: ...
    def build(self, info: DatasetInfo) -> nn.Module: ...
    def optimizers(self, model: nn.Module) -> list[torch.optim.Optimizer]: ...
    def step(self, model: nn.Module, optimizers: list, x: torch.Tensor, y: torch.Tensor,
             gen: torch.Generator, step: int) -> dict[str, float]: ...
    def extra_config(self) -> dict: ...
    def training_notes(self) -> dict: ...
    def exportable(self, ema_model: nn.Module) -> nn.Module: ...


def get_recipe(family: str) -> Recipe:
    """The recipe of ``family``; a ValueError listing the known families otherwise."""
    if family not in RECIPES:
        raise ValueError(f"Unknown family {family!r}. Known families: {', '.join(FAMILIES)}.")
    module_name, class_name = RECIPES[family]
    return getattr(importlib.import_module(module_name), class_name)()
