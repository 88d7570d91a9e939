"""Same seed, same pictures: every shipped model against pictures saved before the code was reorganised.

``tests/golden/images_fp32.npz`` was written by the code as it was before the ``Denoiser`` object
(commit f2dfc98, ``generate.images`` with autocast switched off), seed 7, one picture per class:
the app's defaults, DDPM at 10 steps, and the VAE and GAN. Compared in fp32, the precision every CPU
can run exactly; another CPU's kernels may round a last bit differently, so a handful of pixels may
differ by a grey level or two, never a picture.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from explorer import denoiser, one_shot, sampling
from explorer.data import DATASETS, to_uint8

GOLDEN = np.load(Path(__file__).parent / "golden" / "images_fp32.npz", allow_pickle=False)
LABELS = list(range(10))
SEED = 7


def _assert_same(new: np.ndarray, old: np.ndarray) -> None:
    diff = np.abs(new.astype(int) - old.astype(int))
    assert (diff == 0).mean() > 0.99 and diff.max() <= 8, f"{(diff > 0).sum()} pixels differ, by up to {diff.max()}"


@pytest.mark.parametrize("dataset", list(DATASETS))
@pytest.mark.parametrize("key, settings", [("diffusion", replace(sampling.DEFAULTS, steps=20)),  # the defaults then
                                           ("diffusion-ddpm", sampling.SamplingSettings(sampler="ddpm", steps=10))])
def test_the_denoiser_draws_what_it_drew_before(dataset, key, settings):
    fp32 = replace(denoiser.get(dataset), precision="fp32")
    _assert_same(to_uint8(fp32.images(LABELS, SEED, settings)), GOLDEN[f"{dataset}-{key}"])


@pytest.mark.parametrize("dataset", list(DATASETS))
@pytest.mark.parametrize("family", one_shot.FAMILIES)
def test_the_one_shot_models_draw_what_they_drew_before(dataset, family):
    _assert_same(to_uint8(one_shot.one_shot_images(dataset, family, LABELS, SEED)), GOLDEN[f"{dataset}-{family}"])
