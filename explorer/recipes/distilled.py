"""Training recipe of the fast copy (family key "distilled", a contract: guidance distillation): a narrower
denoiser that gives in one network call the guided prediction its full model (the shipped ``<dataset>-diffusion``,
its teacher in distillation's words) gives in two, at the app's default scale.

Owns: the fast copy's size (a quarter of the full model's arithmetic: half its channels), what it is taught —
for a class, the full model's guided prediction at ``DEFAULTS.guidance`` inside the full model's measured guidance
interval and its told-the-class prediction outside it (exactly what the app's default sampling uses); for the
null class, the full model's told-nothing prediction — on the training pictures noised to a random step, the
loss (the full model recipe's min-SNR weighting) and the optimiser.
Does not know: sampling, files (explorer.registry loads the full model), time budgets, the UI.
"""

from __future__ import annotations

import torch
from torch import nn

from explorer import precision as precisions
from explorer import registry
from explorer.data import DatasetInfo
from explorer.guidance import guide, guides_at
from explorer.nets.unet import UNet, UNetConfig
from explorer.recipes.diffusion import DiffusionRecipe
from explorer.sampling import DEFAULTS

FAST_COPY_CHANNELS = 16  # the full model has 32: every convolution has a quarter of the multiply-adds
NULL_SHARE = 0.1  # share of pictures taught the told-nothing prediction (so "told nothing" still works)


class DistilledRecipe(DiffusionRecipe):
    """The diffusion recipe (schedule, loss weights, optimiser, training step) with the full model's guided guess as
    the target, instead of the noise that was added."""

    family = "distilled"  # the fast copy
    full_family = "diffusion"
    label_dropout = NULL_SHARE

    def __init__(self) -> None:
        super().__init__()
        self.full_model: nn.Module | None = None
        self.full_config: dict = {}

    def unet_config(self, info: DatasetInfo) -> UNetConfig:
        return UNetConfig(base_channels=FAST_COPY_CHANNELS, channel_mults=(1, 2, 4), blocks_per_level=1,
                          attention_at_lowest=True, num_classes=info.num_classes)

    def build(self, info: DatasetInfo) -> nn.Module:
        loaded = registry.get(info.key, self.full_family)
        self.full_model, self.full_config = loaded.network, loaded.config
        if self.full_config["prediction"] != "v" or self.full_config["schedule"]["name"] != "cosine":
            raise ValueError(f"{loaded.name} is not a cosine-schedule v-prediction model; a fast copy learns "
                             "only from such a full model.")
        return UNet(self.unet_config(info))

    def interval(self) -> tuple[int, int] | None:
        """The full model's measured guidance interval (None: it guides every step)."""
        chosen = self.full_config.get("sampling", {}).get("guidance_interval")
        return tuple(chosen) if chosen else None

    def target(self, x0, x_t, t, noise, y):
        return self.guided_target(x_t, t, y)

    @torch.no_grad()
    def guided_target(self, x_t: torch.Tensor, t: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """What the fast copy must output for (x_t (B,1,28,28), t (B,), y (B,)): the full model's guided v."""
        null = self.full_model.config.num_classes
        interval = self.interval()
        guided = torch.tensor([guides_at(interval, int(step)) for step in t.tolist()], device=t.device)  # (B,)
        told_class = y != null  # (B,)
        needs_null = ~told_class | guided  # (B,)
        rows_x = torch.cat([x_t[told_class], x_t[needs_null]])  # (R, 1, 28, 28)
        rows_t = torch.cat([t[told_class], t[needs_null]])
        rows_y = torch.cat([y[told_class], torch.full_like(y[needs_null], null)])
        full_model = self.full_model.to(x_t.device)
        with torch.inference_mode(), precisions.autocast(x_t.device, self.precision):
            out = full_model(rows_x, rows_t, rows_y).float().clone()  # (R, 1, 28, 28)
        v_cond = torch.zeros_like(x_t)
        v_null = torch.zeros_like(x_t)
        v_cond[told_class] = out[:int(told_class.sum())]
        v_null[needs_null] = out[int(told_class.sum()):]
        scale = torch.where(guided, DEFAULTS.guidance, 1.0).view(-1, 1, 1, 1)  # (B, 1, 1, 1)
        return torch.where(told_class.view(-1, 1, 1, 1), guide(v_null, v_cond, scale), v_null)

    def extra_config(self) -> dict:
        full = self.full_config
        return {**super().extra_config(),
                "distilled_from": {"model": f"{full['dataset']}-{self.full_family}",
                                   "weights_sha256": full.get("weights_sha256"),
                                   "guidance": DEFAULTS.guidance,
                                   "guidance_interval": list(self.interval()) if self.interval() else None}}

    def training_notes(self) -> dict:
        return {**super().training_notes(),
                "loss": "v-prediction MSE against the full model's guided v, min-SNR-5 weights"}
