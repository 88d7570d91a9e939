"""explorer.demos.switch_prompt ("Switch the prompt mid-run", on the Remove-noise tab) on the shipped models:
shapes, an early switch gives the second class and a late one keeps the first, the runs share one static and
match plain runs, the switching model_fn, determinism, caching, bad input."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from explorer import denoiser
from explorer.demos import switch_prompt
from explorer.samplers import timesteps_for
from explorer.sampling import DEFAULTS


def test_switch_prompt_at_its_defaults():
    r = switch_prompt.switch_prompt()
    assert (r.first_name, r.second_name, r.seed, r.steps) == ("Sneaker", "Bag", 0, switch_prompt.STEPS)
    assert r.switches == switch_prompt.SWITCHES
    assert r.pictures.shape == (len(r.switches), len(switch_prompt.SHOWN_STEPS) + 1, 28, 28)
    assert r.probabilities.shape == (len(r.switches), 21, 2) and len(r.figure.data) == 2 * len(r.switches)


@pytest.mark.parametrize("dataset", ["fashion", "mnist"])
def test_an_early_switch_gives_the_second_class_and_a_late_one_keeps_the_first(dataset):
    r = switch_prompt.switch_prompt(dataset)
    verdict = dict(zip(r.switches, r.final_classes))
    assert verdict[0] == verdict[3] == r.second_name  # the judge on the final pictures
    assert verdict[15] == verdict[switch_prompt.NEVER] == r.first_name
    assert r.probabilities[0, -1, 1] > 0.9 and r.probabilities[-1, -1, 0] > 0.9


def test_the_runs_share_one_static_and_match_plain_runs():
    """'never' is a plain run of the first class, 'from the start' one of the second, from the same static."""
    r = switch_prompt.switch_prompt("mnist", "three", "eight", seed=9)
    from explorer.data import to_uint8
    den = denoiser.get("mnist")
    for row, name in ((0, "eight"), (-1, "three")):
        alone = to_uint8(den.images([name], 9, replace(DEFAULTS, steps=switch_prompt.STEPS)))[0]
        assert np.abs(alone.astype(int) - r.pictures[row, -1].astype(int)).max() <= 2
    first_guesses = r.pictures[:, 0]  # step 1: told the same class in every run that has not switched yet
    np.testing.assert_array_equal(first_guesses[1], first_guesses[-1])


def test_the_switching_model_fn_tells_each_image_its_class_at_each_step():
    told = []

    def model_fn_for(labels):
        told.append(labels.tolist())
        return lambda x_t, t: None

    ts = timesteps_for(denoiser.get("fashion").schedule, 5)
    fn = switch_prompt.switching_model_fn(model_fn_for, 7, 8, ts, (0, 2, None))
    for t in ts:
        fn(torch.zeros(3, 1, 28, 28), t)
    assert told == [[8, 7, 7], [8, 7, 7], [8, 8, 7], [8, 8, 7], [8, 8, 7]]


def test_switch_prompt_is_deterministic_and_cached():
    first = switch_prompt.switch_prompt(seed=5)
    again = switch_prompt.switch_prompt("fashion", "Sneaker", "Bag", 5)
    assert not first.cached and again.cached
    switch_prompt._CACHE._items.clear()
    np.testing.assert_array_equal(first.pictures, switch_prompt.switch_prompt(seed=5).pictures)


@pytest.mark.parametrize("kwargs, message", [
    (dict(first_class="Bag", second_class="Bag"), "two different classes"),
    (dict(second_class="Horse"), "Known classes"),
    (dict(seed=2 ** 63), "Seed must be a whole number"),
    (dict(seed=1.5), "Seed must be a whole number"),
    (dict(dataset="cifar"), "cifar"),
])
def test_switch_prompt_refuses_bad_values(kwargs, message):
    with pytest.raises(ValueError, match=message):
        switch_prompt.switch_prompt(**kwargs)
