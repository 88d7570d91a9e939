"""Training recipe of the judge classifier.

Owns: the judge's size, its augmentation (random shifts of up to ``MAX_SHIFT`` pixels, padded with
the black background), the cross-entropy loss, the optimiser and learning-rate warm-up, and drawing
the dropout masks from the step's generator.
Does not know: files, time budgets, EMA, how the judge scores samples.
"""

from __future__ import annotations

from contextlib import contextmanager

import torch
import torch.nn.functional as F
from torch import nn

from explorer import precision as precisions
from explorer.data import DatasetInfo
from explorer.nets.judge import Judge, JudgeConfig

MAX_SHIFT = 2
LEARNING_RATE = 2e-3
WEIGHT_DECAY = 5e-4
WARMUP_STEPS = 100


def random_shift(x: torch.Tensor, max_shift: int, gen: torch.Generator) -> torch.Tensor:
    """Shift every image by its own random (dy, dx) in [-max_shift, max_shift], filling with -1 (black)."""
    b, _, h, w = x.shape
    padded = F.pad(x, (max_shift,) * 4, value=-1.0)  # (B, 1, H + 2s, W + 2s)
    dy, dx = torch.randint(0, 2 * max_shift + 1, (2, b, 1), generator=gen, device=x.device)  # each (B, 1)
    rows = dy + torch.arange(h, device=x.device)  # (B, H)
    cols = dx + torch.arange(w, device=x.device)  # (B, W)
    batch = torch.arange(b, device=x.device)[:, None, None]
    return padded[batch, 0, rows[:, :, None], cols[:, None, :]].unsqueeze(1)  # (B, 1, H, W)


@contextmanager
def global_rng_from(gen: torch.Generator):
    """Dropout draws from the global RNG: inside this block it is seeded from ``gen``; afterwards the
    global state is restored as it was, so training stays a function of ``gen`` alone."""
    seed = int(torch.randint(0, 2**62, (1,), generator=gen, device=gen.device))
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        yield


class JudgeRecipe:
    family = "judge"
    batch_size = 128
    default_minutes = 3.0
    ema_decay = 0.995
    warmup_steps = WARMUP_STEPS
    precision = "fp32"  # set by the training loop (explorer.precision decides per device)
    weights_dtype = "float32"

    def judge_config(self, info: DatasetInfo) -> JudgeConfig:
        return JudgeConfig(num_classes=info.num_classes)

    def architecture(self, info: DatasetInfo) -> dict:
        return {"type": "judge", **self.judge_config(info).to_dict()}

    def build(self, info: DatasetInfo) -> nn.Module:
        return Judge(self.judge_config(info))

    def optimizers(self, model: nn.Module) -> list[torch.optim.Optimizer]:
        return [torch.optim.AdamW(model.parameters(), lr=LEARNING_RATE, weight_decay=WEIGHT_DECAY)]

    def step(self, model, optimizers, x, y, gen, step):
        (opt,) = optimizers
        x_aug = random_shift(x, MAX_SHIFT, gen)  # (B, 1, 28, 28)
        with global_rng_from(gen), precisions.autocast(x.device, self.precision):
            logits = model(x_aug).float()  # (B, num_classes)
        loss = F.cross_entropy(logits, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return {"loss": loss.item(), "acc": (logits.argmax(dim=1) == y).float().mean().item()}

    def extra_config(self) -> dict:
        return {}

    def training_notes(self) -> dict:
        return {"learning_rate": LEARNING_RATE, "weight_decay": WEIGHT_DECAY, "warmup_steps": WARMUP_STEPS,
                "ema_decay": self.ema_decay, "augmentation": f"random shifts of up to {MAX_SHIFT} px",
                "loss": "cross-entropy", "precision": self.precision}

    def exportable(self, ema_model: nn.Module) -> nn.Module:
        return ema_model
