"""The "Remove noise" tab through the real server: /generate driven with gradio_client, streaming included; its
sections /different_endings and /switch_prompt with no arguments and with bad values (the project's message, the
server keeps serving); its outputs open filled in, and the run the page's load event puts in the browser's state
is one an API session does not have."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError
from PIL import Image

from explorer.sampling import DEFAULTS
from explorer.ui import different_endings_section, remove_noise_tab

OUTPUTS = 9  # x_t, x̂0, noise, step text, scrub slider, what was drawn, chart, one jump | final, files
IMAGES = (0, 1, 2, 7)
FEW = dict(sampler="ddim", steps=5, guidance=2.0)


def _pixels(path: str) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("L"))


def test_generate_with_no_arguments_uses_the_defaults(client):
    """The defaults are the opening's: the seed the tab opens on, whose judge curve rises."""
    result = client.predict(api_name="/generate")
    assert len(result) == OUTPUTS
    assert _pixels(result[0]).shape == (280, 280)
    assert f"Done: {DEFAULTS.steps} steps" in result[3] and "fast recipe" in result[3]
    assert f"seed {remove_noise_tab.OPENING_SEED}." in result[3]
    assert result[4]["maximum"] == DEFAULTS.steps and result[4]["value"] == DEFAULTS.steps
    assert "T-shirt/top" in result[5]
    assert result[6]["type"] == "plotly"
    assert sorted(Path(p).suffix for p in result[8]) == [".gif", ".png"]


def test_explicit_arguments_and_a_fixed_seed_give_the_same_pictures(client):
    args = dict(dataset="mnist", prompt="the number 7", class_name="zero", seed=21, eta=0.5, **FEW)
    first = client.predict(**args, api_name="/generate")
    second = client.predict(**args, api_name="/generate")
    assert "Done: 5 steps" in first[3] and "steady recipe" in first[3] and "fresh static 0.5" in first[3]
    assert "seven" in first[5]
    for i in IMAGES:
        np.testing.assert_array_equal(_pixels(first[i]), _pixels(second[i]))
    other = client.predict(**{**args, "seed": 22}, api_name="/generate")
    assert not np.array_equal(_pixels(first[7]), _pixels(other[7]))


def test_a_class_of_the_other_dataset_can_be_chosen_by_name(client):
    result = client.predict(dataset="mnist", class_name="three", seed=23, **FEW, api_name="/generate")
    assert "three" in result[5]


def test_generate_streams_steps_before_the_final_update(client):
    job = client.submit(seed=24, **FEW, api_name="/generate")
    updates = list(job)  # every streamed update, the final one last
    assert len(updates) == FEW["steps"] and job.outputs() == updates  # steps 1 … 4, then the finished run
    for step, update in enumerate(updates[:-1], start=1):
        assert f"Step {step} of 5" in update[3]
        assert _pixels(update[0]).shape == _pixels(update[1]).shape == (280, 280)
        assert update[2] in (None, {"__type__": "update"})  # no noise picture yet: cleared, then left alone
    assert "Done: 5 steps" in updates[-1][3] and _pixels(updates[-1][2]).shape == (280, 280)


def test_frames_show_x_t_and_x0_and_empty_the_rest_without_skips():
    import gradio as gr

    from explorer.demos import remove_noise
    from explorer.ui import remove_noise_tab

    picture = np.zeros((28, 28), np.uint8)
    first, later = (
        remove_noise_tab._frame_outputs(remove_noise.RemoveNoiseFrame(step, 20, 999, picture, picture, picture))
        for step in (1, 5))
    for frame in (first, later):
        assert frame[0].shape == frame[1].shape == (280, 280) and "of 20" in frame[3]
        assert frame[2] is None and frame[5:9] == ("", None, None, None)  # plain values: no component rebuilt
    assert isinstance(first[4], gr.Slider) and first[4].interactive is False
    assert later[4] == gr.skip() and first[9] == later[9] == gr.skip()  # the slider stays locked; the state is kept


def test_scrubbing_shows_the_nearest_step_and_names_a_value_that_is_not_a_number():
    import gradio as gr

    from explorer.demos import remove_noise
    from explorer.ui import remove_noise_tab

    result = remove_noise.remove_noise(seed=26, **FEW)
    assert "Step 5 of 5" in remove_noise_tab._scrub(result, 10**9)[3]
    assert "Step 1 of 5" in remove_noise_tab._scrub(result, -7)[3]
    for value in (float("nan"), float("inf"), None, "three"):
        with pytest.raises(gr.Error, match="The step to look at must be a whole number from 1 to 5"):
            remove_noise_tab._scrub(result, value)
    with pytest.raises(gr.Error, match="Make a picture first"):
        remove_noise_tab._scrub(None, 3)


def test_a_session_keeps_no_more_components_however_many_pictures_it_makes(running_app):
    import gc

    from gradio.blocks import Block
    from gradio_client import Client

    session = Client(running_app, verbose=False, download_files=False)

    def live_components() -> int:
        gc.collect()
        return sum(isinstance(o, Block) for o in gc.get_objects())

    session.predict(seed=30, **FEW, api_name="/generate")
    before = live_components()
    for seed in range(31, 36):
        session.predict(seed=seed, **FEW, api_name="/generate")
    assert live_components() == before


def test_every_way_of_making_a_picture_also_scrolls_to_the_outputs(client):
    """What starts /generate, New static's run or an example's run also starts the browser-side scroll
    (common.reveal) to the column of outputs; test_browser.py checks that it really scrolls on a phone."""
    from explorer.ui import remove_noise_tab

    dependencies = {d["id"]: d for d in client.config["dependencies"]}

    def triggers(api_name: str) -> set:
        """The user actions that start ``api_name``, following .then() back to the first event."""
        event = next(d for d in dependencies.values() if d.get("api_name") == api_name)
        while event["trigger_after"] is not None:
            event = dependencies[event["trigger_after"]]
        return {tuple(target) for target in event["targets"]}

    starts = set().union(*(triggers(name) for name in ("generate", "generate_new_static", "generate_example")))
    scrolls = [d for d in dependencies.values() if f"'{remove_noise_tab.RESULTS_ID}'" in (d["js"] or "")]
    assert len(scrolls) == 1 and not scrolls[0]["backend_fn"] and not scrolls[0]["queue"]
    assert {tuple(target) for target in scrolls[0]["targets"]} == starts and len(starts) == 8
    assert any(c["props"].get("elem_id") == remove_noise_tab.RESULTS_ID for c in client.config["components"])


def test_bad_values_give_clear_errors_and_the_server_keeps_serving(client):
    with pytest.raises(Exception, match="Steps must be a whole number"):
        client.predict(steps=2.5, api_name="/generate")
    with pytest.raises(Exception, match="Unknown class 'Horse'"):
        client.predict(class_name="Horse", api_name="/generate")
    assert len(client.predict(seed=25, **FEW, api_name="/generate")) == OUTPUTS


@pytest.mark.parametrize("api_name", ["/generate_dataset", "/guidance_dataset", "/compare_dataset"])
def test_every_class_list_follows_the_dataset_switch(client, api_name):
    digits = client.predict("mnist", api_name=api_name)
    assert digits["value"] == "zero" and [c[0] for c in digits["choices"]][-1] == "nine"
    clothes = client.predict("fashion", api_name=api_name)
    assert clothes["value"] == "T-shirt/top" and len(clothes["choices"]) == 10


# ----------------------------------------------------------------------------- Different endings; Switch the prompt

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
)  # Guidance and Compare (other modules' labels): test_browser.py finds no empty picture in any tab


def test_the_tabs_open_with_results(client):
    """Nothing opens empty: the outputs of the two tabs carry a value in the page's config."""
    values = {c["props"].get("label"): c["props"].get("value") for c in client.config["components"]}
    assert [label for label in OPEN_FILLED if not values.get(label)] == []


def test_scrubbing_and_playing_need_a_run_in_the_session(running_app):
    """An API session has no page load, so it has no run until it makes one."""
    visitor = Client(running_app, verbose=False)
    with pytest.raises(AppError, match="Make a picture first"):
        visitor.predict(2, api_name="/generate_scrub")
