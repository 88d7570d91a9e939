"""Links to a demo (explorer.ui.links): how an address's query string is read, and the QR code of a link."""

from __future__ import annotations

from types import SimpleNamespace

import gradio as gr
import pytest

from explorer.ui import links


def _book() -> tuple[links.Book, dict]:
    """A book of two tabs with one setting of each kind, built as the app builds its own."""
    book = links.Book(("fashion", "mnist"))
    with gr.Blocks():
        with gr.Tab("First", id="first") as first:
            book.open_tab("first", "First", first)
            widgets = {"k": links.setting("k", gr.Slider(0, 1000, value=250), links.Whole(0, 1000)),
                       "prompt": links.setting("prompt", gr.Textbox(""), links.Text(20))}
        with gr.Tab("Second", id="second") as second:
            book.open_tab("second", "Second", second)
            widgets |= {"guidance": links.setting("guidance", gr.Slider(0, 20, value=3), links.Real(0, 20)),
                        "schedule": links.setting("schedule", gr.Radio(["linear", "cosine"]),
                                                  links.Choice(("linear", "cosine"))),
                        "every": links.setting("every", gr.Checkbox(False), links.Flag())}
            links.main_button(gr.Button("Go"))
    return book, widgets


def test_a_link_names_a_tab_its_dataset_and_settings():
    book, widgets = _book()
    reading = book.read({"tab": "second", "dataset": "mnist", "guidance": "7.5", "schedule": "linear", "every": "1"})
    assert (reading.tab, reading.dataset, reading.notes) == ("second", "mnist", [])
    assert reading.values == {id(widgets["guidance"]): 7.5, id(widgets["schedule"]): "linear",
                              id(widgets["every"]): True}


@pytest.mark.parametrize("query, note", [
    ({"tab": "nowhere"}, "tab=nowhere (the tabs are: first, second)"),
    ({"dataset": "cifar"}, "dataset=cifar (must be one of fashion, mnist)"),
    ({"tab": "first", "k": "1001"}, "k=1001 (must be a whole number from 0 to 1000)"),
    ({"tab": "first", "k": "2.5"}, "k=2.5 (must be a whole number from 0 to 1000)"),
    ({"tab": "first", "k": "1_0"}, "k=1_0 (must be a whole number from 0 to 1000)"),
    ({"tab": "second", "guidance": "nan"}, "guidance=nan (must be a number from 0 to 20)"),
    ({"tab": "second", "guidance": "1e400"}, "guidance=1e400 (must be a number from 0 to 20)"),
    ({"tab": "second", "schedule": "cubic"}, "schedule=cubic (must be one of linear, cosine)"),
    ({"tab": "second", "every": "yes"}, "every=yes (must be 0 or 1)"),
    ({"tab": "first", "prompt": "x" * 21}, "prompt=" + "x" * 21 + " (must be printable text of at most 20"),
    ({"tab": "first", "prompt": "a\nb"}, "prompt=a?b (must be printable text"),
    ({"tab": "first", "guidance": "3"}, "guidance (not a setting of First)"),
    ({"k": "3"}, "k (not a setting of this page)"),
])
def test_a_bad_or_unknown_value_is_left_out_with_a_note(query, note):
    book, _ = _book()
    reading = book.read(query)
    assert reading.values == {}
    assert len(reading.notes) == 1 and reading.notes[0].startswith(note)


def test_good_values_survive_beside_bad_ones():
    book, widgets = _book()
    reading = book.read({"tab": "first", "k": "12", "prompt": "a sneaker", "steps": "4"})
    assert reading.values == {id(widgets["k"]): 12, id(widgets["prompt"]): "a sneaker"}
    assert reading.notes == ["steps (not a setting of First)"]


def test_a_note_never_repeats_a_long_or_unprintable_value_whole():
    book, _ = _book()
    note = book.read({"tab": "first", "k": "\u202e" + "9" * 100}).notes[0]
    assert note.isprintable() and len(note) < 120


def test_the_main_button_is_registered_for_its_tab_with_an_id_the_page_can_press():
    book, _ = _book()
    first, second = book.tabs
    assert first.main_button is None and second.main_button.elem_id == "second-main"
    assert '"second": "Second"' in links.head(book)


def test_the_qr_code_encodes_the_link_and_refuses_what_is_not_one():
    svg, url, box = links.qr_code("http://127.0.0.1:7860/?tab=guidance&seed=3")
    assert svg.startswith('<div class="qr-code"><svg') and url.endswith("seed=3") and box.visible
    for bad in ("", "   ", None, 3, "x" * (links.MAX_LINK_CHARS + 1)):
        with pytest.raises(gr.Error, match="needs this page's link"):
            links.qr_code(bad)



def test_a_sections_settings_press_its_own_button_and_never_the_tabs_main_one():
    """A link naming only a section's settings (Finish my drawing's finish_… on the Remove-noise tab) runs that
    section; the tab's main button (Generate) is pressed, and its opening skipped, only for the tab's own settings."""
    book = links.Book(("fashion",))
    with gr.Blocks() as demo:
        dataset = gr.Radio(["fashion"], value="fashion")
        note = gr.Markdown()
        with gr.Tabs() as tabs:
            with gr.Tab("Tab", id="tab") as tab:
                book.open_tab("tab", "Tab", tab)
                links.setting("seed", gr.Number(0), links.Whole(0, 9))
                main = links.main_button(gr.Button("Go"))
                linked = links.linked_run_check()
                links.setting("part_k", gr.Slider(0, 10, value=5), links.Whole(0, 10))
                part = links.press_when_linked(gr.Button("Part", elem_id="part-run"), ["part_k"])
        links.wire(book, tabs, dataset, note)
    scripts = [dep.get("js") or "" for dep in demo.config["dependencies"]]
    main_press = [js for js in scripts if f"#{main.elem_id}'" in js]
    part_press = [js for js in scripts if f"#{part.elem_id}'" in js]
    assert len(main_press) == 1 and '"seed"' in main_press[0] and "part_k" not in main_press[0]
    assert len(part_press) == 1 and '"part_k"' in part_press[0] and '"seed"' not in part_press[0]
    assert book.tabs[0].main_settings() == ["seed"]

    def request(**query):
        return SimpleNamespace(query_params={"tab": "tab", **query})

    assert linked(request(seed="3")) and linked(request(seed="3", part_k="2"))
    assert not linked(request(part_k="2")) and not linked(request())
