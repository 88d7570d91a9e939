"""The "Mistakes" tab through the real server, driven with gradio_client: /odd_ones_out and /impossible_request
with no arguments and with explicit values (deterministic, cached, bad values refused with the project's
messages), and /mistakes_opening, the page load's defaults."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from explorer import registry
from explorer.demos import impossible_requests
from explorer.samplers import timesteps_for
from explorer.sampling import DEFAULTS
from explorer.schedules import make_schedule

ODD_OUTPUTS = 4  # overview, summary, odd ones beside their neighbours, table
PAIR_OUTPUTS = 5  # pictures, summary, judge chart, table, maths


def _pixels(path: str) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im)


def _steps_inside(dataset: str) -> list[int]:
    """From config.json alone: the default run's 1-based steps whose timestep lies in the guidance interval."""
    config = json.loads((registry.MODEL_STORE / f"{dataset}-diffusion" / "config.json").read_text())
    lo, hi = config["sampling"]["guidance_interval"]
    schedule = make_schedule(config["schedule"]["name"], config["schedule"]["num_timesteps"])
    return [i + 1 for i, t in enumerate(timesteps_for(schedule, DEFAULTS.steps)) if lo <= t <= hi]


# ----------------------------------------------------------------------------- Mistakes: odd ones out

def test_odd_ones_out_with_no_arguments(client):
    result = client.predict(api_name="/odd_ones_out")
    assert len(result) == ODD_OUTPUTS
    overview, odd = _pixels(result[0]), _pixels(result[2])
    assert overview.ndim == 3 and odd.shape[1] > odd.shape[0]
    assert "T-shirt/top" in result[1] and "typically" in result[1]
    assert result[3].count("\n| ") == 1 + 8  # the line under the header, then one row per odd one
    again = client.predict(api_name="/odd_ones_out")
    assert "from the cache" in again[1]
    np.testing.assert_array_equal(_pixels(again[0]), overview)


def test_the_mistakes_tab_opens_on_its_defaults(client):
    """Nothing opens empty: the page-load event shows both sections at their defaults, made once in the background."""
    opening = client.predict(api_name="/mistakes_opening")
    assert len(opening) == ODD_OUTPUTS + PAIR_OUTPUTS
    odd = client.predict(api_name="/odd_ones_out")
    pair = client.predict(api_name="/impossible_request")
    np.testing.assert_array_equal(_pixels(opening[0]), _pixels(odd[0]))
    np.testing.assert_array_equal(_pixels(opening[ODD_OUTPUTS]), _pixels(pair[0]))
    assert "T-shirt/top" in opening[1] and opening[3] == odd[3]
    # the opening keeps back what answers the question beside it (as crisp? a copy?); a run of one's own says it
    assert "Your own run shows the numbers" in opening[1] and "crispness" not in opening[1]
    assert "crispness" in odd[1] and "Your own run shows" not in odd[1]  # the sentence follows the run's numbers


def test_odd_ones_out_with_explicit_values_and_bad_ones(client):
    result = client.predict(dataset="mnist", class_name="seven", first_seed=100, api_name="/odd_ones_out")
    assert "seven" in result[1] and "seeds 100–163" in result[1] and "Made by the fast copy" in result[1]
    full = client.predict(dataset="mnist", class_name="seven", first_seed=100, made_by="full model",
                          api_name="/odd_ones_out")
    assert "Made by the full model" in full[1]
    refused = r"'a teacher' .* is not in the list of choices: \['fast copy', 'full model'\]"
    with pytest.raises(Exception, match=refused):
        client.predict(made_by="a teacher", api_name="/odd_ones_out")
    with pytest.raises(Exception, match="Unknown class 'Horse'"):
        client.predict(class_name="Horse", api_name="/odd_ones_out")
    with pytest.raises(Exception, match="Seed must be a whole number from 0 to 9223372036854775807, got -1"):
        client.predict(first_seed=-1, api_name="/odd_ones_out")


# ----------------------------------------------------------------------------- Mistakes: impossible requests

def test_impossible_request_with_no_arguments(client):
    result = client.predict(api_name="/impossible_request")
    assert len(result) == PAIR_OUTPUTS
    assert _pixels(result[0]).ndim == 2
    assert "Sneaker and Bag" in result[1]
    assert result[2]["type"] == "plotly"
    assert result[3].count("\n| ") == 1 + impossible_requests.PAIR_SEEDS
    assert "ε = ε_u + s · [(ε_a − ε_u) + (ε_b − ε_u)]" in result[4]
    inside = _steps_inside("fashion")
    assert f"steps {inside[0]}–{inside[-1]} of {DEFAULTS.steps}" in result[4]


def test_impossible_request_with_explicit_values_is_deterministic(client):
    args = dict(dataset="mnist", prompt="a 3 and an 8", first_seed=9, guidance=2.0)
    first = client.predict(**args, api_name="/impossible_request")
    assert "three and eight" in first[1] and "s = 2" in first[1]
    again = client.predict(**args, api_name="/impossible_request")
    assert "from the cache" in again[1]
    np.testing.assert_array_equal(_pixels(first[0]), _pixels(again[0]))


@pytest.mark.parametrize("kwargs, message", [
    (dict(prompt="a sneaker"), "Name two Fashion classes joined by 'and'"),
    (dict(prompt="a sneaker and a horse"), "'a horse' names none of the 10 Fashion classes"),
    (dict(guidance=-1), "Guidance scale must be a number between 0 and 20, got -1"),
    (dict(guidance=1e9), r"Guidance scale must be a number between 0 and 20, got 1e\+09"),
    (dict(first_seed=2 ** 64), "Seed must be a whole number from 0 to 9223372036854775807"),
])
def test_impossible_request_bad_values(client, kwargs, message):
    with pytest.raises(Exception, match=message):
        client.predict(**kwargs, api_name="/impossible_request")
