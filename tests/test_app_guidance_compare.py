"""The "Guidance" and "Compare" tabs through the real server, driven with gradio_client:
every public endpoint with no arguments (all inputs have defaults) and with explicit values; the Guidance tab's
"guide every step" and its sentence on where guidance applies (checked against the model's config.json, not against
the demo); the Compare tab's rows on how each one learned and how many random numbers go in."""

from __future__ import annotations

import json
import urllib.request

import numpy as np
import pytest
from PIL import Image

from explorer import registry
from explorer.data import DATASETS
from explorer.samplers import timesteps_for
from explorer.sampling import DEFAULTS
from explorer.schedules import make_schedule

GRID_OUTPUTS = 8  # grid, summary, table, trade-off chart, sweep note, steering picture, its text, step slider
COMPARE_OUTPUTS = 8  # VAE, GAN, diffusion pictures, costs, quality, steps chart, its note, 1 vs N steps


@pytest.fixture
def one_shot_models():
    missing = [registry.model_name(d, f) for d in DATASETS for f in ("vae", "gan")
               if registry.model_name(d, f) not in registry.known_models()]
    if missing:
        pytest.skip(f"not trained yet in {registry.MODEL_STORE}: {', '.join(missing)}")


def _pixels(path: str) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("L"))


# ----------------------------------------------------------------------------- Guidance

def test_guidance_grid_with_no_arguments_uses_the_defaults(client):
    result = client.predict(api_name="/guidance_grid")
    assert len(result) == GRID_OUTPUTS
    assert _pixels(result[0]).shape[1] > _pixels(result[0]).shape[0]
    assert "T-shirt/top" in result[1] and "s = 0, 0.3, 0.6, 1, 3, 8" in result[1]
    assert result[2].count("\n| ") == 6  # one table row per scale
    assert result[3]["type"] == "plotly"
    assert "ε = ε_u + s · (ε_c − ε_u)" in result[6] and "w = s − 1" in result[6]
    assert result[7]["value"] == DEFAULTS.steps // 2 and result[7]["maximum"] == DEFAULTS.steps


def test_guidance_grid_with_explicit_values(client):
    args = dict(dataset="mnist", prompt="the number 7", class_name="zero", scales="0 4", seeds=2, first_seed=3,
                step_to_show=2, sampler="ddim", steps=4)
    first = client.predict(**args, api_name="/guidance_grid")
    assert "seven" in first[1] and "seeds 3–4" in first[1]
    assert "Step 2 of 4" in first[6]
    again = client.predict(**args, api_name="/guidance_grid")
    assert "from the cache" in again[1]
    np.testing.assert_array_equal(_pixels(first[0]), _pixels(again[0]))


def test_guidance_grid_bad_values_give_clear_errors(client):
    with pytest.raises(Exception, match="'abc' is not a number"):
        client.predict(scales="abc", api_name="/guidance_grid")
    with pytest.raises(Exception, match="'nan' is not a number"):
        client.predict(scales="1, nan", api_name="/guidance_grid")
    assert len(client.predict(scales="2", seeds=1, steps=2, api_name="/guidance_grid")) == GRID_OUTPUTS


# ----------------------------------------------------------------------------- Compare

def test_compare_with_no_arguments(client, one_shot_models):
    result = client.predict(api_name="/compare")
    assert len(result) == COMPARE_OUTPUTS
    for i in (0, 1, 2, 7):
        assert _pixels(result[i]).ndim == 2
    assert "T-shirt/top" in result[3] and "VAE" in result[3] and f"Diffusion, {DEFAULTS.steps} steps" in result[3]
    assert "Measured quality" in result[4]


def test_compare_with_explicit_values(client, one_shot_models):
    result = client.predict(dataset="mnist", class_name="three", seeds=2, first_seed=5, steps=4, api_name="/compare")
    assert "three" in result[3] and "seeds 5–6" in result[3] and "Diffusion, 4 steps" in result[3]
    with pytest.raises(Exception, match="Unknown class 'Horse'"):
        client.predict(class_name="Horse", api_name="/compare")


def test_latent_point_with_no_and_explicit_arguments(client, one_shot_models):
    default = client.predict(api_name="/latent_point")
    assert _pixels(default[0]).shape == (280, 280) and default[1]["type"] == "plotly"
    explicit = client.predict(dataset="mnist", class_name="seven", x=2.0, y=-1.0, api_name="/latent_point")
    assert "seven" in explicit[2]
    with pytest.raises(Exception, match="Known classes"):
        client.predict(class_name="Horse", api_name="/latent_point")


def test_interpolate_with_no_and_explicit_arguments(client, one_shot_models):
    default = client.predict(api_name="/interpolate")
    assert len(default) == 3 and _pixels(default[0]).ndim == 2 and _pixels(default[1]).ndim == 2
    explicit = client.predict(dataset="mnist", class_name="two", picture_a=10, picture_b=190, seed_a=3, seed_b=4,
                              api_name="/interpolate")
    assert "#10" in explicit[2] and "seed 3" in explicit[2] and "two" in explicit[2]


# ----------------------------------------------------------------------------- nothing opens empty

def test_the_guidance_tab_opens_on_its_defaults_grid(client):
    """The page-load event shows the defaults' grid, made once in the background when the server started."""
    opening = client.predict(api_name="/guidance_opening")
    again = client.predict(api_name="/guidance_grid")
    assert len(opening) == GRID_OUTPUTS
    np.testing.assert_array_equal(_pixels(opening[0]), _pixels(again[0]))
    assert opening[2] == again[2] and "T-shirt/top" in opening[1]


def test_the_compare_tab_opens_on_its_defaults_in_every_section(client, one_shot_models):
    opening = client.predict(api_name="/compare_opening")
    assert len(opening) == COMPARE_OUTPUTS + 3 + 3  # the comparison, the VAE's map and point, the two walks
    compared = client.predict(api_name="/compare")
    np.testing.assert_array_equal(_pixels(opening[2]), _pixels(compared[2]))  # the diffusion pictures
    assert opening[COMPARE_OUTPUTS + 1]["type"] == "plotly" and opening[-1]  # the map, the walk's note


# ----------------------------------------------------------------------------- Guidance: honest about the interval

def _steps_inside(dataset: str) -> list[int]:
    """From config.json alone: the default run's 1-based steps whose timestep lies in the guidance interval."""
    config = json.loads((registry.MODEL_STORE / f"{dataset}-diffusion" / "config.json").read_text())
    lo, hi = config["sampling"]["guidance_interval"]
    schedule = make_schedule(config["schedule"]["name"], config["schedule"]["num_timesteps"])
    return [i + 1 for i, t in enumerate(timesteps_for(schedule, DEFAULTS.steps)) if lo <= t <= hi]


def test_the_guidance_tab_states_the_models_interval(running_app):
    """The tab's own text (as served to the browser) and config.json's guidance interval agree."""
    inside = _steps_inside("fashion")
    with urllib.request.urlopen(f"{running_app}config") as response:
        config = json.load(response)
    texts = [str(c.get("props", {}).get("value", "")) for c in config["components"]]
    stated = [t for t in texts if "Where the push applies" in t]  # the lesson's sentence, the opening grid's summary
    assert stated
    for text in stated:
        assert f"steps {inside[0]}–{inside[-1]} of {DEFAULTS.steps}" in text
        assert f"steps 1–{inside[0] - 1}, the noisiest" in text


def test_the_guidance_grid_says_where_guidance_applied(client):
    inside = _steps_inside("fashion")
    default = client.predict(api_name="/guidance_grid")
    assert len(default) == GRID_OUTPUTS
    assert f"steps {inside[0]}–{inside[-1]} of {DEFAULTS.steps}" in default[2]  # the closed numbers section
    every = client.predict(guide_every_step=True, api_name="/guidance_grid")
    assert "Guide every step is on" in every[2] and f"all {DEFAULTS.steps} steps" in every[2]
    assert not np.array_equal(_pixels(default[0]), _pixels(every[0]))


def test_the_guidance_grid_keeps_its_old_positional_arguments(client):
    result = client.predict("mnist", "seven", "zero", "0 3", 1, 0, 2, "ddim", 3, api_name="/guidance_grid")
    assert "seven" in result[1] and "Step 2 of 3" in result[6]
    with pytest.raises(Exception, match="'Guide every step' must be true or false"):
        client.predict(guide_every_step="yes", api_name="/guidance_grid")


# ----------------------------------------------------------------------------- Compare: how each one learned

def test_compare_says_how_each_learned_and_how_many_random_numbers_go_in(client):
    result = client.predict(seeds=1, steps=2, api_name="/compare")
    vae = registry.get("fashion", "vae").network.noise_dim
    gan = registry.get("fashion", "gan").network.noise_dim
    assert "| learned by | rebuilding pictures through a short code | a contest against a critic | " \
           "removing noise we added |" in result[3]
    assert f"| random numbers in | {vae} | {gan} | {28 * 28} |" in result[3]
    assert "no contest" in result[3]
