"""Any image-making family's pictures for a list of classes: the one front door of ``sample`` and ``evaluate``.

Owns: sending a request to the diffusion model or its fast copy (explorer.denoiser) or to a
one-shot model (explorer.one_shot), with the seed parsed here (the boundary of the command line and the tools;
the settings parse themselves); an unknown family is a ValueError naming the ones that make pictures.
Does not know: how either makes them, the UI.
"""

from __future__ import annotations

import torch

from explorer import denoiser, one_shot
from explorer.checks import check_seed
from explorer.sampling import DEFAULTS, SamplingSettings

FAMILIES = (*denoiser.FAMILIES, *one_shot.FAMILIES)


def images(dataset: str, family: str, labels, seed: int, settings: SamplingSettings = DEFAULTS) -> torch.Tensor:
    """(B, 1, 28, 28) in [-1, 1] for ``labels``; ``settings`` apply to the denoisers only."""
    seed = check_seed(seed)
    if family in denoiser.FAMILIES:
        return denoiser.get(dataset, family=family).images(labels, seed, settings)
    if family in one_shot.FAMILIES:
        return one_shot.one_shot_images(dataset, family, labels, seed)
    raise ValueError(f"Family {family!r} does not make images; use one of: {', '.join(FAMILIES)}.")
