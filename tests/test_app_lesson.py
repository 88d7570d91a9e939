"""The lesson demos through the real server with gradio_client: /ask_the_network, /different_endings and
/switch_prompt each answer with no arguments and refuse a bad value with the project's message; the
Remove-noise tab opens on a finished run, which the page's load event puts in the browser's state; the
page as served does not answer the one-jump question before the student has guessed."""

from __future__ import annotations

import re

import numpy as np
import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError
from PIL import Image

from explorer.ui import different_endings_section, predict_reveal

ONE_JUMP_ANSWER = re.compile(r"worse in one jump|blur", re.IGNORECASE)  # answers "sharp or blurry?"


def _pixels(path: str) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("L"))


def test_ask_the_network_with_no_arguments(client):
    noise_strip, picture_strip, numbers, chart = client.predict(api_name="/ask_the_network")
    assert _pixels(noise_strip).shape[1] > 3 * 168 and _pixels(picture_strip).shape[1] > 3 * 168
    assert "k = 250" in numbers and "told the class: T-shirt/top" in numbers and "off by" in numbers
    assert chart["type"] == "plotly"


def test_ask_the_network_with_arguments_is_reproducible(client):
    args = dict(dataset="mnist", gallery_index=5, k=800, seed=3)
    first = client.predict(**args, api_name="/ask_the_network")
    second = client.predict(**args, api_name="/ask_the_network")
    assert "k = 800" in first[2] and "real picture #5" in first[2]
    np.testing.assert_array_equal(_pixels(first[0]), _pixels(second[0]))


def test_ask_the_network_at_t_0_says_there_is_nothing_to_guess(client):
    assert "nothing to guess" in client.predict(k=0, api_name="/ask_the_network")[2]


def test_different_endings_with_no_arguments(client):
    grid, summary, chart = client.predict(api_name="/different_endings")
    assert _pixels(grid).shape[0] > 6 * 84 and "T-shirt/top" in summary and "seeds 0–5" in summary
    assert chart["type"] == "plotly"


def test_switch_prompt_with_no_arguments(client):
    grid, summary, chart = client.predict(api_name="/switch_prompt")
    assert _pixels(grid).shape[0] > 6 * 84
    assert "switched from the start → **Bag**" in summary and "never switched → **Sneaker**" in summary
    assert chart["type"] == "plotly"


def test_switching_the_dataset_offers_its_pair(client):
    first, second = client.predict("mnist", api_name="/switch_prompt_dataset")
    assert (first["value"], second["value"]) == ("one", "eight")


@pytest.mark.parametrize("api_name, values, message", [
    ("/ask_the_network", dict(k=5000), "k must be a whole number from 1 to 1000"),
    ("/ask_the_network", dict(gallery_index=-1), "gallery image number"),
    ("/different_endings", dict(class_name="Horse"), "Known classes"),
    ("/different_endings", dict(first_seed=-2), "The first seed must be a whole number"),
    ("/switch_prompt", dict(first_class="Bag", second_class="Bag"), "two different classes"),
    ("/switch_prompt", dict(seed=-1), "Seed must be a whole number"),
])
def test_bad_values_get_the_projects_message_and_the_server_keeps_serving(client, api_name, values, message):
    with pytest.raises(AppError, match=message):
        client.predict(**values, api_name=api_name)
    assert len(client.predict(api_name=api_name)) >= 3


OPEN_FILLED = (  # outputs of Add noise and Remove noise that must carry a value on first load
    "This step's picture", "Its guess of the clean picture",
    "The static: added | guessed | difference ×3 (grey = 0)", "Error against the noising steps k",
    different_endings_section.GRID_LABEL, "When is the picture decided?",
    "The judge along the steps", "The judge's confidence at each step",
)  # Guidance and Compare (other modules' labels): test_browser_lesson finds no empty picture in any tab


def test_the_tabs_open_with_results(client):
    """Nothing opens empty: the outputs of the two tabs carry a value in the page's config."""
    values = {c["props"].get("label"): c["props"].get("value") for c in client.config["components"]}
    assert [label for label in OPEN_FILLED if not values.get(label)] == []


def test_scrubbing_and_playing_need_a_run_in_the_session(running_app):
    """An API session has no page load, so it has no run until it makes one."""
    visitor = Client(running_app, verbose=False)
    with pytest.raises(AppError, match="Make a picture first"):
        visitor.predict(2, api_name="/generate_scrub")


def test_no_text_on_show_before_a_run_answers_the_one_jump_question(client):
    """Up to the end of the Remove-noise tab, the page as served (no opening fills text there) never says that
    one jump gives a blur: only the questions and the closed "why" sections may, once the student has guessed."""
    on_show = _texts_on_show(client.config, last_tab="Remove noise")
    assert "One jump, or many small steps?" in "\n".join(on_show)  # the section is there; only its answer is not
    assert [text for text in on_show if ONE_JUMP_ANSWER.search(text)] == []


def test_the_sections_open_with_their_measurements_held_back_until_a_run(client):
    """The summaries the page opens with say what was made but keep back the numbers that answer the questions
    beside them; the student's own run (same defaults) shows them."""
    on_show = "\n".join(_texts_on_show(client.config, last_tab="Remove noise"))
    assert on_show.count("Numbers hidden until you guess") == 2  # Same start, different endings; Switch the prompt
    assert "How alike the rows' guesses are" not in on_show and "The judge names each final picture" not in on_show
    _, endings, _ = client.predict(api_name="/different_endings")
    _, switched, _ = client.predict(api_name="/switch_prompt")
    assert "How alike the rows' guesses are" in endings and "The judge names each final picture" in switched


def _texts_on_show(config: dict, last_tab: str) -> list[str]:
    """In page order, up to the end of the tab ``last_tab``: every markdown, button, label, info, placeholder and
    choice, leaving out closed accordions and predict-then-reveal questions (their choices name the answers)."""
    components = {c["id"]: c for c in config["components"]}
    texts: list[str] = []

    def walk(node: dict) -> bool:  # True once ``last_tab`` has been read
        component = components.get(node["id"], {"type": "root", "props": {}})
        props = component["props"]
        if predict_reveal.QUESTION in (props.get("elem_classes") or []):
            return False
        if component["type"] in ("markdown", "button"):
            texts.append(str(props.get("value") or ""))
        texts.extend(str(props[key]) for key in ("label", "info", "placeholder") if props.get(key))
        if component["type"] == "accordion" and not props.get("open"):
            return False  # its title only
        texts.extend(str(choice) for choice in props.get("choices") or [])
        if any(walk(child) for child in node.get("children", [])):
            return True
        return component["type"] == "tabitem" and props.get("label") == last_tab

    walk(config["layout"])
    return texts
