"""The class-conditional denoising U-Net for 28×28 grey images.

Owns: the architecture (residual blocks with FiLM time+class conditioning, self-attention at 7×7),
built entirely from a plain ``UNetConfig`` so a checkpoint's config rebuilds it exactly. Class id
``num_classes`` is the "null" class: the unconditional branch of classifier-free guidance.
Does not know: noise schedules, parametrisations (eps / v), sampling, training.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class UNetConfig:
    base_channels: int = 32
    channel_mults: tuple[int, ...] = (1, 2, 4)  # one level per entry: 28×28, 14×14, 7×7
    blocks_per_level: int = 1
    attention_at_lowest: bool = True
    num_classes: int = 10  # the null (unconditional) class is id num_classes
    dropout: float = 0.0

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "UNetConfig":
        d = dict(d)
        d["channel_mults"] = tuple(d["channel_mults"])
        return cls(**d)


def _groups(channels: int) -> int:
    return 8 if channels % 8 == 0 else 1


def timestep_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    """Sinusoidal embedding of integer or real timesteps.  t (B,) → (B, dim)."""
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, device=t.device, dtype=torch.float32) / half)
    args = t.float()[:, None] * freqs[None]  # (B, half)
    return torch.cat([torch.cos(args), torch.sin(args)], dim=1)


class ResBlock(nn.Module):
    """GN → SiLU → conv → FiLM(emb) → GN → SiLU → conv, plus a (1×1 if needed) skip."""

    def __init__(self, c_in: int, c_out: int, emb_dim: int, dropout: float):
        super().__init__()
        self.norm1 = nn.GroupNorm(_groups(c_in), c_in)
        self.conv1 = nn.Conv2d(c_in, c_out, 3, padding=1)
        self.film = nn.Linear(emb_dim, 2 * c_out)
        self.norm2 = nn.GroupNorm(_groups(c_out), c_out)
        self.dropout = nn.Dropout(dropout)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1)
        nn.init.zeros_(self.conv2.weight)
        nn.init.zeros_(self.conv2.bias)
        self.skip = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else nn.Identity()

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))  # (B, c_out, H, W)
        scale, shift = self.film(emb)[:, :, None, None].chunk(2, dim=1)
        h = self.norm2(h) * (1 + scale) + shift
        h = self.conv2(self.dropout(F.silu(h)))
        return self.skip(x) + h


class SelfAttention(nn.Module):
    """Multi-head self-attention over the H·W positions of a small feature map."""

    def __init__(self, channels: int, heads: int = 4):
        super().__init__()
        self.heads = heads
        self.norm = nn.GroupNorm(_groups(channels), channels)
        self.qkv = nn.Conv2d(channels, 3 * channels, 1)
        self.out = nn.Conv2d(channels, channels, 1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        qkv = self.qkv(self.norm(x)).reshape(b, 3, self.heads, c // self.heads, h * w)
        q, k, v = (qkv[:, i].transpose(-1, -2) for i in range(3))  # each (B, heads, HW, c/heads)
        y = F.scaled_dot_product_attention(q, k, v)  # (B, heads, HW, c/heads)
        y = y.transpose(-1, -2).reshape(b, c, h, w)
        return x + self.out(y)


class UNet(nn.Module):
    """ε/v/x0-agnostic denoiser: (x_t (B,1,28,28), t (B,), class (B,)) → (B,1,28,28)."""

    def __init__(self, config: UNetConfig):
        super().__init__()
        self.config = config
        c0 = config.base_channels
        emb_dim = 4 * c0
        self.emb_dim = emb_dim
        self.time_mlp = nn.Sequential(nn.Linear(c0, emb_dim), nn.SiLU(), nn.Linear(emb_dim, emb_dim))
        self.class_emb = nn.Embedding(config.num_classes + 1, emb_dim)
        self.stem = nn.Conv2d(1, c0, 3, padding=1)

        widths = [c0 * m for m in config.channel_mults]
        self.down_blocks = nn.ModuleList()
        self.downsamples = nn.ModuleList()
        skip_widths, c = [c0], c0
        for level, w in enumerate(widths):
            for _ in range(config.blocks_per_level):
                self.down_blocks.append(ResBlock(c, w, emb_dim, config.dropout))
                c = w
                skip_widths.append(c)
            if level < len(widths) - 1:
                self.downsamples.append(nn.Conv2d(c, c, 3, stride=2, padding=1))
                skip_widths.append(c)

        self.mid1 = ResBlock(c, c, emb_dim, config.dropout)
        self.mid_attn = SelfAttention(c) if config.attention_at_lowest else nn.Identity()
        self.mid2 = ResBlock(c, c, emb_dim, config.dropout)

        self.up_blocks = nn.ModuleList()
        self.upsamples = nn.ModuleList()
        for level, w in reversed(list(enumerate(widths))):
            for _ in range(config.blocks_per_level + 1):
                self.up_blocks.append(ResBlock(c + skip_widths.pop(), w, emb_dim, config.dropout))
                c = w
            if level > 0:
                self.upsamples.append(nn.Conv2d(c, c, 3, padding=1))
        self.head_norm = nn.GroupNorm(_groups(c), c)
        self.head = nn.Conv2d(c, 1, 3, padding=1)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)

    def forward(self, x: torch.Tensor, t: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        emb = self.time_mlp(timestep_embedding(t, self.config.base_channels)) + self.class_emb(y)  # (B, E)
        emb = F.silu(emb)
        h = self.stem(x)  # (B, c0, 28, 28)
        skips = [h]
        blocks = iter(self.down_blocks)
        levels = len(self.config.channel_mults)
        for level in range(levels):
            for _ in range(self.config.blocks_per_level):
                h = next(blocks)(h, emb)
                skips.append(h)
            if level < levels - 1:
                h = self.downsamples[level](h)  # (B, c, H/2, W/2)
                skips.append(h)
        h = self.mid2(self.mid_attn(self.mid1(h, emb)), emb)  # (B, c_low, 7, 7)
        blocks = iter(self.up_blocks)
        for i, level in enumerate(reversed(range(levels))):
            for _ in range(self.config.blocks_per_level + 1):
                h = next(blocks)(torch.cat([h, skips.pop()], dim=1), emb)
            if level > 0:
                h = self.upsamples[i](F.interpolate(h, scale_factor=2.0, mode="nearest"))
        return self.head(F.silu(self.head_norm(h)))  # (B, 1, 28, 28)
