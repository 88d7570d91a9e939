"""explorer.demos.guidance and per-image guidance scales: the grid, the same static per row,
the steering signal, the judge's numbers, the card's sweep or its note, the cache, bad input.

Runs the shipped diffusion and judge models (or ``$EXPLORER_MODEL_STORE``'s) with few steps.
"""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go
import pytest
import torch

from explorer import cards, checks, denoiser, sampling
from explorer.data import to_uint8
from explorer.demos import guidance as demo
from explorer.demos.cache import LRUCache
from explorer.guidance import guide, make_model_fn
from explorer.schedules import make_schedule

FEW = dict(steps=4)


@pytest.fixture
def fresh_cache(monkeypatch):
    """An empty cache for this test, so runs really compute."""
    monkeypatch.setattr(demo, "_CACHE", LRUCache(8))


# ----------------------------------------------------------------------------- per-image scales

def _toy_network(x, t, y):
    """A weight-free 'denoiser' whose output depends on the class (the null class included)."""
    return 0.1 * x + 0.01 * (y[:, None, None, None].float() + 1)


def test_per_image_scales_apply_the_one_formula_to_each_image():
    schedule = make_schedule("cosine")
    x = torch.randn(3, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    labels = torch.tensor([1, 2, 3])
    scales = torch.tensor([0.0, 1.0, 5.0])
    batched = make_model_fn(_toy_network, schedule, "eps", labels, scales, null_class=10)(x, 500)
    for i, s in enumerate(scales.tolist()):
        single = make_model_fn(_toy_network, schedule, "eps", labels[i:i + 1], s, null_class=10)
        alone = single(x[i:i + 1], 500)
        torch.testing.assert_close(batched.eps[i:i + 1], alone.eps)
    shown = make_model_fn(_toy_network, schedule, "eps", labels, scales, null_class=10, keep_branches=True)(x, 500)
    torch.testing.assert_close(shown.eps, batched.eps)
    torch.testing.assert_close(shown.eps, guide(shown.eps_uncond, shown.eps_cond, scales.view(-1, 1, 1, 1)))


def test_per_image_scales_run_only_the_branches_they_need_and_identical_rows_once():
    """s = 0 needs only "told nothing", s = 1 only "told the class"; a grid's columns share one static."""
    rows_run = []

    def counting(x, t, y):
        rows_run.append(len(y))
        return _toy_network(x, t, y)

    schedule = make_schedule("cosine")
    x = torch.randn(2, 1, 28, 28, generator=torch.Generator().manual_seed(0)).repeat_interleave(4, dim=0)  # 2 × 4 same
    labels = torch.full((8,), 3)
    scales = torch.tensor([0.0, 1.0, 2.0, 5.0]).repeat(2)  # (8,): image r·4 + c gets scale c
    shown = torch.arange(8) < 4
    fn = make_model_fn(counting, schedule, "eps", labels, scales, null_class=10, keep_branches=shown,
                       interval=(0, 400))
    inside = fn(x, 300)
    assert rows_run == [4]  # per static: told nothing and told the class once each
    outside = fn(x, 700)  # scales capped at 1: s = 0 told nothing, the others told the class
    assert rows_run == [4, 4]
    for prediction, s in ((inside, scales), (outside, scales.clamp(max=1))):
        for i in range(8):
            alone = make_model_fn(_toy_network, schedule, "eps", labels[i:i + 1], float(s[i]),
                                  null_class=10)(x[i:i + 1], 300 if prediction is inside else 700)
            torch.testing.assert_close(prediction.eps[i:i + 1], alone.eps)
    assert not outside.eps_cond[:4].isnan().any() and not outside.eps_uncond[:4].isnan().any()  # shown: both run
    assert outside.eps_uncond[5:8].isnan().all()  # not shown, s = 1 after capping: told nothing was not run


def test_per_image_scales_are_parsed_at_the_boundary():
    """The grid's scales are parsed once, by parse_scales; make_model_fn trusts the tensor it is given."""
    with pytest.raises(ValueError, match="Guidance scale must be a number between 0 and 20, got nan"):
        demo.parse_scales([1.0, math.nan])


# ----------------------------------------------------------------------------- the grid

def test_defaults_make_a_grid_of_seeds_by_scales():
    r = demo.guidance_grid()
    scales = demo.parse_scales(demo.DEFAULT_SCALES)
    rows, cols = demo.DEFAULT_SEEDS, len(scales)
    assert (r.dataset, r.label, r.class_name) == ("fashion", 0, "T-shirt/top")
    assert (r.steps, r.sampler) == (sampling.DEFAULTS.steps, sampling.DEFAULTS.sampler)
    assert r.scales == scales and r.seeds == tuple(range(rows))
    assert r.images.shape == (rows, cols, 28, 28) and r.images.dtype == np.uint8
    assert r.grid.dtype == np.uint8 and r.grid.ndim == 2 and r.grid.shape[1] > r.grid.shape[0]
    assert r.step_shown == (sampling.DEFAULTS.steps + 1) // 2
    assert r.network_calls == sampling.DEFAULTS.steps
    assert r.formula == "ε = ε_u + s · (ε_c − ε_u)" and "w = s − 1" in r.w_note


def test_the_grid_counts_the_guesses_it_made(fresh_cache):
    """One column guided on every step needs both guesses every step; columns that share a static share guesses."""
    steps = 6
    alone = demo.guidance_grid(scales="3", seeds=1, steps=steps, guide_every_step=True)
    assert alone.guesses == 2 * steps
    shared = demo.guidance_grid(scales="1, 3", seeds=1, steps=steps)  # both told the class only, until t ≤ 550
    unguided = steps - len(shared.guided_steps)
    assert 0 < unguided < steps
    # until the first guided step has run, both columns are one picture: told the class and (shown) told nothing
    # → 2 guesses a step; after it, 2 pictures × 2
    assert shared.guesses == 2 * (unguided + 1) + 4 * (len(shared.guided_steps) - 1)


def test_recognition_and_variety_are_measured_per_scale(fresh_cache):
    r = demo.guidance_grid(scales="0, 2, 6", seeds=3, **FEW)
    assert r.recognition.shape == r.variety.shape == r.variety_ratio.shape == (3,)
    assert np.all((0 <= r.recognition) & (r.recognition <= 1))
    assert np.all(np.isfinite(r.variety)) and np.all(r.variety >= 0) and np.all(r.variety_ratio >= 0)
    assert [row[0] for row in r.table] == ["0", "2", "6"]
    assert all(row[1].endswith("/3") for row in r.table)


def test_one_seed_has_no_variety(fresh_cache):
    r = demo.guidance_grid(scales="1", seeds=1, **FEW)
    assert r.images.shape == (1, 1, 28, 28) and np.isnan(r.variety[0])
    assert r.table[0][2] == "needs 2 seeds"


def test_every_row_starts_from_its_seeds_static_for_every_scale(fresh_cache, monkeypatch):
    seen = []
    real_sample_steps = demo.sample_steps

    def recording(model_fn, schedule, x_T, **kwargs):
        seen.append(x_T.clone())
        return real_sample_steps(model_fn, schedule, x_T, **kwargs)

    monkeypatch.setattr(demo, "sample_steps", recording)
    r = demo.guidance_grid(scales="0, 1, 4", seeds=2, first_seed=11, step_to_show=1, **FEW)
    x_T = seen[0].view(2, 3, 1, 28, 28).cpu()  # image r·cols + c
    for row, seed in enumerate((11, 12)):
        static, _ = sampling.starting_static(seed, 1, torch.device("cpu"))
        for col in range(3):
            torch.testing.assert_close(x_T[row, col], static[0], rtol=0, atol=0)
    # at the first step every column of the first row sees the same static: the same two predictions
    for col in range(1, 3):
        np.testing.assert_allclose(r.eps_uncond[col], r.eps_uncond[0], atol=1e-5)
        np.testing.assert_allclose(r.eps_cond[col], r.eps_cond[0], atol=1e-5)


def test_the_same_seed_and_scale_give_the_same_picture_in_another_column(fresh_cache):
    a = demo.guidance_grid(scales="1, 5", seeds=2, **FEW)  # s = 1 is column 0
    b = demo.guidance_grid(scales="0, 1", seeds=2, **FEW)  # s = 1 is column 1
    difference = np.abs(a.images[:, 0].astype(int) - b.images[:, 1].astype(int))
    assert difference.mean() < 1.0  # equal up to rounding in a differently sized batch


def test_guidance_changes_the_pictures_along_a_row(fresh_cache):
    r = demo.guidance_grid(scales="0, 8", seeds=2, **FEW)
    for row in r.images:
        assert np.abs(row[0].astype(int) - row[1].astype(int)).mean() > 1.0


def test_the_steering_signal_is_eps_c_minus_eps_u(fresh_cache):
    r = demo.guidance_grid(scales="0, 3", seeds=2, step_to_show=3, **FEW)
    assert r.eps_cond.shape == r.eps_uncond.shape == r.difference.shape == (2, 28, 28)
    np.testing.assert_array_equal(r.difference, r.eps_cond - r.eps_uncond)
    assert r.difference_gain == pytest.approx(1 / np.abs(r.difference).max())
    assert r.step_shown == 3 and r.steering.dtype == np.uint8 and r.steering.ndim == 2
    # independently: seed 0 alone at s = 3, as the "Remove noise" tab makes it, with both branches kept
    alone = list(denoiser.get("fashion").steps([0], 0, sampling.SamplingSettings(steps=4, guidance=3.0),
                                          keep_branches=True))
    third = alone[2].prediction
    assert r.t_shown == alone[2].t
    np.testing.assert_allclose(r.eps_cond[1], third.eps_cond[0, 0].cpu().numpy(), atol=1e-3)
    np.testing.assert_allclose(r.eps_uncond[1], third.eps_uncond[0, 0].cpu().numpy(), atol=1e-3)
    final = to_uint8(alone[-1].x_next.clamp(-1, 1))[0]
    assert np.abs(r.images[0, 1].astype(int) - final.astype(int)).max() <= 1


def test_a_step_past_the_last_shows_the_last_and_zero_the_middle(fresh_cache):
    assert demo.guidance_grid(scales="2", seeds=1, step_to_show=50, **FEW).step_shown == 4
    assert demo.guidance_grid(scales="2", seeds=1, step_to_show=0, steps=5).step_shown == 3


def test_another_step_or_a_repeated_request_comes_from_the_cache(fresh_cache, monkeypatch):
    first = demo.guidance_grid(scales="0 2", seeds=2, step_to_show=1, **FEW)

    def no_model(*args, **kwargs):
        raise AssertionError("the model ran again")

    monkeypatch.setattr(demo, "sample_steps", no_model)
    again = demo.guidance_grid(scales="2, 0", seeds=2, step_to_show=3, **FEW)  # same grid, other step
    assert again.cached and not first.cached and again.step_shown == 3
    np.testing.assert_array_equal(again.images, first.images)
    assert not np.array_equal(again.eps_cond, first.eps_cond)


# ----------------------------------------------------------------------------- prompts and the card

def test_the_prompt_wins_and_a_prompt_naming_nothing_uses_the_list(fresh_cache):
    assert demo.guidance_grid(prompt="an ankle boot", class_name="Bag", scales="1", seeds=1, **FEW).label == 9
    r = demo.guidance_grid(prompt="a horse", class_name="Bag", scales="1", seeds=1, **FEW)
    assert r.label == 8 and "needs a class" in r.mapping and "Bag" in r.mapping
    assert demo.guidance_grid(dataset="mnist", prompt="seven", scales="1", seeds=1, **FEW).class_name == "seven"


def test_without_the_cards_sweep_a_note_replaces_it(fresh_cache, monkeypatch):
    monkeypatch.setattr(cards, "read_metrics", lambda folder: {})
    r = demo.guidance_grid(scales="0, 3", seeds=2, **FEW)
    assert "not measured yet" in r.sweep_note and "python -m explorer evaluate" in r.sweep_note
    assert isinstance(r.tradeoff_figure, go.Figure) and len(r.tradeoff_figure.data) == 2


def test_the_cards_sweep_is_drawn_beside_the_live_numbers(fresh_cache, monkeypatch):
    sweep = [{"guidance": s, "recognition": 0.5, "variety_ratio": 0.9, "n_images": 100} for s in (3, 0, 1)]
    monkeypatch.setattr(cards, "read_metrics", lambda folder: {"guidance_sweep": sweep})
    r = demo.guidance_grid(scales="0, 3", seeds=2, **FEW)
    assert r.sweep_note == "" and len(r.tradeoff_figure.data) == 4
    assert list(r.tradeoff_figure.data[2].x) == [0, 1, 3]


# ----------------------------------------------------------------------------- bad input

def test_scales_are_parsed_sorted_and_deduplicated():
    assert demo.parse_scales(" 3, 0 1;1 ") == (0.0, 1.0, 3.0)
    assert demo.parse_scales([2, "0.5"]) == (0.5, 2.0)


@pytest.mark.parametrize("kwargs, message", [
    (dict(scales="abc"), "'abc' is not a number"),
    (dict(scales="1, two"), "'two' is not a number"),
    (dict(scales="nan"), "'nan' is not a number"),
    (dict(scales="1, inf"), "'inf' is not a number"),
    (dict(scales="25"), "between 0 and 20"),
    (dict(scales="-1"), "between 0 and 20"),
    (dict(scales=""), "1 to 8 guidance scales"),
    (dict(scales="1 2 3 4 5 6 7 8 9"), "1 to 8 guidance scales"),
    (dict(seeds=0), "number of seeds"),
    (dict(seeds=9), "number of seeds"),
    (dict(seeds=2.5), "number of seeds"),
    (dict(seeds=None), "number of seeds"),
    (dict(first_seed=-1), "Seed must be a whole number"),
    (dict(first_seed=checks.MAX_SEED), "first seed must be at most"),
    (dict(sampler="ddpm"), "deterministic sampler"),
    (dict(sampler="euler"), "Known samplers"),
    (dict(steps=0), "Steps must be a whole number"),
    (dict(steps=101), "at most 100 steps"),
    (dict(step_to_show=-1), "step to show"),
    (dict(step_to_show=1.5), "step to show"),
    (dict(class_name="Horse"), "Known classes"),
    (dict(dataset="cifar"), "Known datasets"),
    (dict(prompt="x" * 1000), "too long"),
])
def test_bad_arguments_say_what_is_wrong(kwargs, message):
    with pytest.raises(ValueError, match=message):
        demo.guidance_grid(**kwargs)


def test_one_grid_costs_at_most_five_default_grids():
    """A request bounded in pictures × steps: the largest grid of old (8 × 8 × 100 steps) is refused with the
    reason."""
    assert demo.MAX_PICTURE_STEPS == 5 * 4 * 6 * sampling.DEFAULTS.steps
    with pytest.raises(ValueError, match=rf"at most {demo.MAX_PICTURE_STEPS} picture-steps .* 8 × 8 × 100 is 6400"):
        demo.guidance_grid(seeds=8, scales="0, 1, 2, 3, 4, 5, 6, 8", steps=100)
    with pytest.raises(ValueError, match=r"5 × 6 × 65 is 1950"):
        demo.guidance_grid(seeds=5, scales="0, 1, 2, 3, 5, 8", steps=65)  # just over the bound (64 steps: 1,920)
