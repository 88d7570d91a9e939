"""Training recipe of the class-conditional denoiser.

Owns: the denoiser's size, the schedule and parametrisation it is trained for (cosine, v), the
loss (min-SNR-5 weighted), label dropout to the null class (so one network gives both guidance
branches), the optimiser, its learning rate and warm-up length.
Does not know: sampling, files, time budgets.
"""

from __future__ import annotations

import torch
from torch import nn

from explorer import precision as precisions
from explorer.data import DatasetInfo
from explorer.nets.unet import UNet, UNetConfig
from explorer.schedules import make_schedule, q_sample, training_target

SCHEDULE = "cosine"
PREDICTION = "v"
LABEL_DROPOUT = 0.1
MIN_SNR_GAMMA = 5.0
LEARNING_RATE = 2e-3
WARMUP_STEPS = 300


class DiffusionRecipe:
    family = "diffusion"
    batch_size = 128
    default_minutes = 60.0
    ema_decay = 0.999
    weights_dtype = "float16"  # 2.66 M parameters: 5.3 MB instead of 10.6 MB
    warmup_steps = WARMUP_STEPS
    precision = "fp32"  # set by the training loop (explorer.precision decides per device)
    label_dropout = LABEL_DROPOUT  # share of pictures shown with the null class
    base_channels = 32  # the U-Net's width (train --base-channels changes it for one run)

    def __init__(self) -> None:
        self.schedule = make_schedule(SCHEDULE)
        snr = self.schedule.snr().float()  # (T,)
        # min-SNR-γ weighting (Hang et al. 2023), expressed for a v-prediction loss
        self.loss_weight = torch.clamp(snr, max=MIN_SNR_GAMMA) / (snr + 1)  # (T,)

    def unet_config(self, info: DatasetInfo) -> UNetConfig:
        return UNetConfig(base_channels=self.base_channels, channel_mults=(1, 2, 4), blocks_per_level=1,
                          attention_at_lowest=True, num_classes=info.num_classes)

    def architecture(self, info: DatasetInfo) -> dict:
        return {"type": "unet", **self.unet_config(info).to_dict()}

    def build(self, info: DatasetInfo) -> nn.Module:
        return UNet(self.unet_config(info))

    def optimizers(self, model: nn.Module) -> list[torch.optim.Optimizer]:
        return [torch.optim.AdamW(model.parameters(), lr=LEARNING_RATE, weight_decay=0.0)]

    def target(self, x0: torch.Tensor, x_t: torch.Tensor, t: torch.Tensor, noise: torch.Tensor,
               y: torch.Tensor) -> torch.Tensor:
        """What the network should output for x_t (B, 1, 28, 28) at t (B,) told y (B,): the v of the noise added."""
        return training_target(self.schedule, x0, t, noise, PREDICTION)

    def step(self, model, optimizers, x, y, gen, step):
        (opt,) = optimizers
        b = x.shape[0]
        t = torch.randint(0, self.schedule.num_timesteps, (b,), generator=gen, device=x.device)  # (B,)
        noise = torch.randn(x.shape, generator=gen, device=x.device)  # (B, 1, 28, 28)
        drop = torch.rand(b, generator=gen, device=x.device) < self.label_dropout
        y_in = torch.where(drop, torch.full_like(y, model.config.num_classes), y)  # (B,)
        x_t = q_sample(self.schedule, x, t, noise)
        target = self.target(x, x_t, t, noise, y_in)  # (B, 1, 28, 28)
        with precisions.autocast(x.device, self.precision):
            out = model(x_t, t, y_in)  # (B, 1, 28, 28)
        per_image = (out.float() - target).pow(2).mean(dim=(1, 2, 3))  # (B,)
        loss = (per_image * self.loss_weight.to(x.device)[t]).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        return {"loss": loss.item()}

    def extra_config(self) -> dict:
        return {"schedule": {"name": SCHEDULE, "num_timesteps": self.schedule.num_timesteps},
                "prediction": PREDICTION}

    def training_notes(self) -> dict:
        return {"learning_rate": LEARNING_RATE, "warmup_steps": WARMUP_STEPS, "ema_decay": self.ema_decay,
                "label_dropout": self.label_dropout, "loss": f"v-prediction MSE, min-SNR-{MIN_SNR_GAMMA:g} weights",
                "precision": self.precision}

    def exportable(self, ema_model: nn.Module) -> nn.Module:
        return ema_model
