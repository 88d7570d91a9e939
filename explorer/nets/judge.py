"""The in-app judge: a small CNN classifier of 28×28 grey images.

Owns: the architecture (conv blocks with BatchNorm and max-pooling, a dropout-regularised feature
layer, a linear head), built entirely from a plain ``JudgeConfig`` so a checkpoint's config rebuilds
it exactly. ``features`` gives the penultimate activations that a Fréchet distance compares.
Does not know: training (augmentation, loss, optimiser: ``explorer/recipes/judge.py``), datasets,
metrics, the UI.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import torch
from torch import nn

IMAGE_SIDE = 28


@dataclass(frozen=True)
class JudgeConfig:
    num_classes: int = 10
    widths: list[int] = field(default_factory=lambda: [32, 64, 128])  # one block each: 28, 14, 7 px
    convs_per_block: int = 2
    feature_dim: int = 128
    dropout: float = 0.3

    def to_dict(self) -> dict:
        return asdict(self)


def conv_block(c_in: int, c_out: int, convs: int) -> nn.Sequential:
    """``convs`` × (3×3 conv → BatchNorm → ReLU), then 2×2 max-pool (H, W → H//2, W//2)."""
    layers: list[nn.Module] = []
    for i in range(convs):
        layers += [nn.Conv2d(c_in if i == 0 else c_out, c_out, 3, padding=1, bias=False),
                   nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]
    return nn.Sequential(*layers, nn.MaxPool2d(2))


class Judge(nn.Module):
    """Classifier: images (B, 1, 28, 28) in [-1, 1] → logits (B, num_classes)."""

    def __init__(self, config: JudgeConfig):
        super().__init__()
        self.config = config
        widths = list(config.widths)
        self.blocks = nn.Sequential(*(conv_block(c_in, c_out, config.convs_per_block)
                                      for c_in, c_out in zip([1] + widths[:-1], widths)))
        side = IMAGE_SIDE >> len(widths)  # 28 → 14 → 7 → 3
        self.feature = nn.Sequential(nn.Flatten(), nn.Dropout(config.dropout),
                                     nn.Linear(widths[-1] * side * side, config.feature_dim), nn.ReLU())
        self.head = nn.Sequential(nn.Dropout(config.dropout), nn.Linear(config.feature_dim, config.num_classes))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The penultimate activations: (B, 1, 28, 28) → (B, feature_dim)."""
        return self.feature(self.blocks(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))  # (B, num_classes)
