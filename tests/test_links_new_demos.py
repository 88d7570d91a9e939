"""Links to the newer demos (Finish my drawing, Watch it learn, Toy in 2-D): the app's own book of links reads their
settings, leaves bad values out with a note, keeps every tab's setting names apart, and has the page press each
demo's button for a link; a linked class survives the dataset that arrives with it. No server, no browser: the
app is built (its openings not made) and its book read."""

from __future__ import annotations

import gradio as gr
import pytest

from explorer.server import estimates, openings
from explorer.ui import finish_drawing_section, toy_tab, watch_it_learn_section


@pytest.fixture(scope="module")
def built():
    """The app's Blocks and its book of links, built once without making the openings in the background."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(openings, "fill", lambda *args, **kwargs: None)
        patch.setattr(estimates, "declare_units", lambda *args, **kwargs: None)
        import app

        demo = app.build_app()
    return demo, demo.explorer_links


def _widgets(book, tab_id: str) -> dict:
    tab = next(tab for tab in book.tabs if tab.id == tab_id)
    return {s.name: id(s.component) for s in tab.settings}


def test_every_tab_names_each_of_its_settings_once(built):
    _, book = built
    for tab in book.tabs:
        names = [s.name for s in tab.settings]
        assert len(names) == len(set(names)), (tab.id, names)


def test_the_toy_reads_its_settings(built):
    _, book = built
    widgets = _widgets(book, "toy")
    reading = book.read({"tab": "toy", "points": "spiral", "k": "700", "train_steps": "400", "steps": "20",
                         "guidance": "2.5", "seed": "3"})
    assert reading.notes == []
    assert reading.values == {widgets["points"]: "spiral", widgets["k"]: 700, widgets["train_steps"]: 400,
                              widgets["steps"]: 20, widgets["guidance"]: 2.5, widgets["seed"]: 3}


@pytest.mark.parametrize("tab, query, note", [
    ("toy", {"points": "drawn"}, "points=drawn (must be one of moons, spiral, rings, letters)"),
    ("toy", {"k": "1001"}, "k=1001 (must be a whole number from 0 to 1000)"),
    ("toy", {"steps": "0"}, "steps=0 (must be a whole number from 1 to 200)"),
    ("toy", {"train_steps": "abc"}, "train_steps=abc (must be a whole number from 100 to 5000)"),
    ("toy", {"guidance": "nan"}, "guidance=nan (must be a number from 0 to 10)"),
    ("remove-noise", {"finish_k": "1001"}, "finish_k=1001 (must be a whole number from 0 to 1000)"),
    ("remove-noise", {"finish_picture": "200"}, "finish_picture=200 (must be a whole number from 0 to 199)"),
    ("remove-noise", {"finish_seed": "-1"}, "finish_seed=-1 (must be a whole number from 0 to"),
    ("remove-noise", {"finish_class": "a\nb"}, "finish_class=a?b (must be printable text"),
    ("add-noise", {"learn_k": "0"}, "learn_k=0 (must be a whole number from 1 to 1000)"),
    ("add-noise", {"learn_picture": "x"}, "learn_picture=x (must be a whole number from 0 to 199)"),
    ("add-noise", {"finish_k": "300"}, "finish_k (not a setting of Add noise)"),
])
def test_a_bad_value_is_left_out_with_a_note(built, tab, query, note):
    _, book = built
    reading = book.read({"tab": tab, **query})
    assert reading.values == {}
    assert len(reading.notes) == 1 and reading.notes[0].startswith(note), reading.notes


def test_finish_my_drawing_and_watch_it_learn_read_theirs_beside_their_tabs_own(built):
    _, book = built
    finish, learn = _widgets(book, "remove-noise"), _widgets(book, "add-noise")
    reading = book.read({"tab": "remove-noise", "seed": "9", "finish_picture": "3", "finish_class": "Sneaker",
                         "finish_k": "300", "finish_seed": "5"})
    assert reading.notes == []
    assert reading.values == {finish["seed"]: 9, finish["finish_picture"]: 3, finish["finish_class"]: "Sneaker",
                              finish["finish_k"]: 300, finish["finish_seed"]: 5}
    reading = book.read({"tab": "add-noise", "k": "100", "learn_picture": "2", "learn_k": "500", "learn_seed": "4"})
    assert reading.notes == []
    assert reading.values == {learn["k"]: 100, learn["learn_picture"]: 2, learn["learn_k"]: 500,
                              learn["learn_seed"]: 4}


@pytest.mark.parametrize("tab, names, button, after", [
    ("remove-noise", ["finish_picture", "finish_class", "finish_k", "finish_seed"], finish_drawing_section.RUN_ID,
     f"#{finish_drawing_section.STRIP_ID} img"),
    ("add-noise", ["learn_picture", "learn_k", "learn_seed"], watch_it_learn_section.RUN_ID,
     f"#{watch_it_learn_section.GRID_ID} img"),
    ("toy", ["points", "k", "train_steps", "steps", "guidance", "seed"], toy_tab.GENERATE_ID,
     f"#{toy_tab.PARTICLES_ID} .js-plotly-plot"),
])
def test_a_link_presses_each_demos_button_once_its_opening_is_shown(built, tab, names, button, after):
    """The page-load script that presses the demo's button: for this tab, these settings, after the opening."""
    demo, _ = built
    scripts = [dep.get("js") or "" for dep in demo.config["dependencies"]]
    pressing = [js for js in scripts if f"#{button}'" in js]
    assert len(pressing) == 1
    for part in (f'linkedSettings("{tab}", ', ", ".join(f'"{name}"' for name in names), f'"{after}"'):
        assert part in pressing[0], part
    assert any(component.get("props", {}).get("elem_id") == button for component in demo.config["components"])


def test_a_link_to_a_section_presses_only_its_button_not_the_tabs_main_one(built):
    """A link to Finish my drawing (finish_… settings) must not also press the Remove-noise tab's Generate, nor
    skip its opening: Generate is pressed for the tab's own settings only."""
    demo, book = built
    tab = next(tab for tab in book.tabs if tab.id == "remove-noise")
    scripts = [dep.get("js") or "" for dep in demo.config["dependencies"]]
    pressing = [js for js in scripts if f"#{tab.main_button.elem_id}'" in js]
    assert len(pressing) == 1 and '"seed"' in pressing[0] and "finish_" not in pressing[0]
    assert tab.main_settings() == ["prompt", "class", "seed", "steps", "guidance"]
    for other in book.tabs:  # no tab's main button is pressed by a setting that presses a section's button
        assert not set(other.main_settings()) & other.pressed_apart, other.id


def _value(update) -> object:
    return update["value"] if isinstance(update, dict) else update.value


@pytest.mark.parametrize("dataset, class_name, index, kept", [
    ("mnist", "seven", 3, ("seven", 3)),
    ("mnist", "Sneaker", 250, ("none", 0)),  # not a class of Digits; no picture 250
    ("fashion", "Sneaker", 199, ("Sneaker", 199)),
])
def test_switching_the_dataset_keeps_what_the_new_one_has(dataset, class_name, index, kept):
    classes, picture = finish_drawing_section._switch_dataset(dataset, class_name, index)
    assert (_value(classes), _value(picture)) == kept


def test_choosing_a_point_set_shows_its_own_model():
    from explorer.toy2d import data, model

    status, loss = toy_tab._chosen("spiral", None)
    assert status == "Spiral: no model trained on these points yet. Press **Train**."
    assert loss.data[0].x == ()  # an empty loss chart
    session = toy_tab.ToySession(trainer=model.Trainer(data.make_points("rings"), seed=0))
    for _ in session.trainer.run(50, chunk=25):
        pass
    status, loss = toy_tab._chosen("rings", session)
    assert status == "Two rings: your model, trained 50 steps." and list(loss.data[0].x) == [25, 50]
    status, _ = toy_tab._chosen("drawn", toy_tab.ToySession())  # a drawing's own status (its points) stays
    assert status == gr.skip()
