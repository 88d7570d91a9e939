"""Quality measures computed with the project's judge classifier.

Owns: judge predictions and features in batches, recognition rate (the judge's top class is the
requested one), the Fréchet distance between two sets of judge features, and within-class variety
(mean pairwise feature distance inside each class). Pure functions of tensors.
Does not know: how images were made, files, cards, the UI.
"""

from __future__ import annotations

import torch
from torch import nn


@torch.inference_mode()
def judge_outputs(judge: nn.Module, images: torch.Tensor, batch: int = 1000) -> tuple[torch.Tensor, torch.Tensor]:
    """images (N, 1, 28, 28) in [-1, 1] → (probabilities (N, C), features (N, F)), float64 features."""
    device = next(judge.parameters()).device
    probs, feats = [], []
    for chunk in images.split(batch):
        features = judge.features(chunk.to(device).float())  # (b, F): the convolutions run once
        probs.append(torch.softmax(judge.head(features).float(), dim=1).cpu())
        feats.append(features.double().cpu())
    return torch.cat(probs), torch.cat(feats)


def recognition_rate(probs: torch.Tensor, labels: torch.Tensor) -> float:
    """Share of images whose top judge class is the requested label.  probs (N, C), labels (N,)."""
    return float((probs.argmax(dim=1) == labels.cpu()).double().mean())


def _sqrt_psd(m: torch.Tensor) -> torch.Tensor:
    vals, vecs = torch.linalg.eigh(m)
    return (vecs * vals.clamp(min=0).sqrt()) @ vecs.T


def frechet_distance(a: torch.Tensor, b: torch.Tensor) -> float:
    """Fréchet distance between Gaussians fitted to feature sets a (N, F) and b (M, F)."""
    a, b = a.double(), b.double()
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = torch.cov(a.T), torch.cov(b.T)  # (F, F)
    root_a = _sqrt_psd(cov_a)
    cross = torch.linalg.eigvalsh(root_a @ cov_b @ root_a).clamp(min=0).sqrt().sum()
    return float((mu_a - mu_b).pow(2).sum() + cov_a.trace() + cov_b.trace() - 2 * cross)


def within_class_variety(features: torch.Tensor, labels: torch.Tensor) -> float:
    """Mean over classes of the mean pairwise L2 distance between features of that class."""
    per_class = []
    for c in labels.unique():
        f = features[labels == c]
        if len(f) < 2:
            continue
        d = torch.cdist(f, f)  # (n, n)
        per_class.append(d.sum() / (len(f) * (len(f) - 1)))
    return float(torch.stack(per_class).mean())
