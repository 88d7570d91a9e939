"""The misconception parts of the app through the real server, driven with gradio_client: the Mistakes tab's
endpoints with no arguments and with explicit values (deterministic, cached, bad values refused with the
project's messages), the Guidance tab's "guide every step" and its sentence on where guidance applies
(checked against the model's config.json, not against the demo), the Compare tab's new rows, and that every
predict-then-reveal question of the app is answered only once its demo has run (read from the served config)."""

from __future__ import annotations

import json
import re
import urllib.request

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
GRID_OUTPUTS = 8


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
    assert "Numbers hidden until you guess" in opening[1] and "crispness" not in opening[1]
    assert "crispness" in odd[1] and "hidden until you guess" not in odd[1]  # the sentence follows the run's numbers


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


# ----------------------------------------------------------------------------- Guidance: honest about the interval

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


# ----------------------------------------------------------------------------- predict, then reveal

REVEALED_BY = {  # each question's answer → the events whose successful end shows it (never a page-load opening)
    "No: just as crisp as the good ones": {"odd_ones_out"},
    "One crisp object that is partly each": {"impossible_request"},
    "No, it is a fixed recipe": {"noise"},
    "Guess the static we added": {"ask_the_network"},
    "Blurry": {"generate", "generate_new_static", "generate_example"},
    "The first class": {"switch_prompt"},
    "No, they are nearly the same": {"different_endings"},
    "No, a typical picture of the class appears": {"finish_drawing"},
    "Far off: it cannot tell the picture from the static": {"watch_it_learn"},
    "No: each static its own": {"guidance_grid"},
    "More alike": {"guidance_grid"},
    "Blurry: a soft smudge": {"compare"},
    "Many small steps": {"toy_generate"},
}
WHEN_TICKED = {"More alike"}  # answered only by a run made with its box ticked (Guide every step)


def test_every_question_is_answered_only_after_its_demo_has_run(client):
    """Picking a choice runs browser code that gives no answer; the answer comes from browser code chained
    on the successful end of the events that run the question's demo. No question calls the server."""
    dependencies = {d["id"]: d for d in client.config["dependencies"]}
    picks, reveals = {}, {}
    for d in dependencies.values():
        if "(guess) =>" not in (d["js"] or ""):
            continue
        assert not d["backend_fn"] and not d["queue"]
        if "**Right.**" in d["js"]:
            answer = json.loads(re.search(r'guess === (".*?") \?', d["js"]).group(1))
            assert d["trigger_only_on_success"] and d["targets"] == [[None, "success"]]
            reveals.setdefault(answer, []).append(d)
        else:
            assert "Your guess: **" in d["js"] and d["targets"][0][1] == "change"
            picks[d["inputs"][0]] = d
    assert set(reveals) == set(REVEALED_BY) and len(picks) == len(REVEALED_BY)
    for answer, chained in reveals.items():
        after = {dependencies[d["trigger_after"]]["api_name"] for d in chained}
        assert after == REVEALED_BY[answer], answer
        for d in chained:  # the reveal reads the question's own radio and writes its own verdict
            pick = picks[d["inputs"][0]]
            assert d["inputs"][0] == pick["inputs"][0] and d["outputs"] == pick["outputs"]
            ticked = len(d["inputs"]) == 3  # (radio, the box, the verdict as it is): a run without the box keeps it
            assert ticked == (answer in WHEN_TICKED), answer
            if ticked:
                assert d["inputs"][2] == d["outputs"][0] and "ticked ?" in d["js"]
