"""UI bits every tab shares: header, dataset radio, error messages, number widgets, image widgets, scrolling.

Owns: the app's one-row header (title, a tagline that Present mode folds away), the words defined once ("Words used
here": the judge, k), the closed "About this server" note (device, precision, threads), closed "Teacher notes"
sections, the Fashion/Digits radio (values "fashion"/"mnist") and the class list that follows it, turning a bad
value (ValueError, UploadError) into a ``gr.Error`` with the same message, the app-wide rule that slider and
number-box ranges bound the widget but leave an API caller's value to the demos' validators, the display size of
images, scrolling to results that are out of sight, the drawing pad (opened ready to draw), and the CSS: upscaled
28×28 pixels crisp, gallery columns within a phone's width, tables readable there, Present mode's folding, no
Plotly toolbar over chart titles, and charts inverted in dark mode.
Does not know: any maths; demos compute, tabs wire widgets to them.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterator
from contextlib import contextmanager

import gradio as gr
import numpy as np

from explorer import plots
from explorer.data import dataset_info

HEADER = "# Diffusion explorer"
TAGLINE = "How a picture-making network works, on tiny 28×28 pictures of clothes and digits."
GLOSSARY_K = "**k** counts noising steps: k = 0 is the clean picture, k = 1000 pure static."
REVEAL_JS = """() => { const el = document.getElementById('ELEM_ID'); const box = el.getBoundingClientRect();
    if (box.bottom < 0 || box.top > window.innerHeight) el.scrollIntoView({behavior: 'smooth'}); }"""
DATASET_CHOICES = [("Fashion", "fashion"), ("Digits", "mnist")]
DEFAULT_DATASET = "fashion"
DISPLAY_SIZE = 280  # px of a large 28×28 image: 10 screen pixels per image pixel
CRISP = "crisp"  # elem_classes of images the browser must not blur
FIT_WIDTH = "fit-width"  # elem_classes of a gr.Gallery whose columns shrink to fit (Gradio's are ≥ 100 px)
PHONE = "(max-width: 640px)"  # where Gradio stacks the columns
CAPTION = "caption"  # elem_classes of a demo's one caption sentence
NOTES = "teacher-notes"  # elem_classes of the closed sections that hold the lesson text
LESSON = "lesson"  # elem_classes of text that Present mode folds away
CSS = f"""
#top-bar {{ align-items: center; gap: 8px; flex-wrap: wrap; }}
#top-bar > * {{ flex: 0 0 auto; min-width: 0; }}
#top-bar #title {{ min-width: 250px; }}
#top-bar h1 {{ margin: 0; font-size: 1.6rem; white-space: nowrap; }}
#top-bar .tagline {{ flex: 1 1 240px; }}
#top-bar #dataset {{ min-width: 230px; padding: 4px 8px; }}
#top-bar #dataset .wrap {{ flex-wrap: nowrap; }}
#top-bar button {{ white-space: nowrap; }}
.qr-code svg {{ width: min(60vh, 90vw); height: auto; display: block; margin: auto; background: white; }}
.present .{LESSON}, .present .{NOTES} {{ display: none !important; }}
.present .{CAPTION} {{ font-size: 1.15rem; }}
.present #present-toggle {{ outline: 2px solid var(--color-accent); }}
.modebar-container {{ display: none !important; }}
.dark .js-plotly-plot {{ filter: invert(0.88) hue-rotate(180deg); }}
.{CRISP} img {{ image-rendering: pixelated; }}
/* a picture's label above it, not on it */
.{CRISP} [data-testid=block-label] {{ position: static; width: fit-content; margin-bottom: 2px; }}
.{FIT_WIDTH} .grid-container {{ grid-template-columns: repeat(var(--grid-cols), minmax(0, 1fr)) !important;
    grid-auto-rows: auto !important; }}
@media {PHONE} {{
    .prose table {{ display: block; max-width: 100%; overflow-x: auto; font-size: 13px; }}
    .prose th, .prose td {{ padding: 6px !important; overflow-wrap: normal; word-break: normal; }}
}}
"""


def header() -> None:
    """The title and one line under it (folded away in Present mode)."""
    gr.Markdown(HEADER, elem_id="title")
    gr.Markdown(TAGLINE, elem_classes=["tagline", LESSON])


NOTES_TITLE = "Teacher notes"
DISPLAY_MATHS = [{"left": "$$", "right": "$$", "display": True}]  # formulas in notes: $$…$$ on a line of its own


def notes(*texts: str, title: str = NOTES_TITLE) -> None:
    """A closed section holding ``texts`` (markdown): the lesson text a student opens when curious."""
    with gr.Accordion(title, open=False, elem_classes=[NOTES]):
        for text in texts:
            gr.Markdown(text, latex_delimiters=DISPLAY_MATHS)


def glossary() -> None:
    """The app's words defined once, closed (the judge, k)."""
    with gr.Accordion("Words used here", open=False, elem_classes=[NOTES]):
        from explorer.demos import judge

        gr.Markdown(f"{judge.definition()}\n\n{GLOSSARY_K}")


def server_note() -> gr.Markdown:
    """One line at the foot of the page: where this server makes the pictures, in which precision, with how many
    threads."""
    with gr.Accordion("About this server", open=False, elem_classes=[NOTES]):
        return gr.Markdown(server_text(), elem_id="server-note")


def server_text() -> str:
    """The note's words, read from what this process chose (explorer.precision, explorer.call_threads, the
    denoiser's device)."""
    import torch

    from explorer import denoiser, precision

    model = denoiser.get(DEFAULT_DATASET)
    if model.device.type == "cuda":
        where = f"on a GPU ({torch.cuda.get_device_name(model.device)})"
    else:
        where = f"on the CPU ({precision.cpu_capability()}) with {_threads_text(model.one_thread_below)}"
    how = {"bf16": "16-bit numbers (bf16)", "fp32": "32-bit numbers (fp32)"}[model.precision]
    if model.precision == "bf16" and model.fp32_below > 1:
        how += f" for {model.fp32_below} or more pictures at once and 32-bit numbers (fp32) for fewer"
    chosen = (f"set by {precision.ENV_VAR}" if precision.requested() != "auto"
              else "chosen at start: bf16 only where this chip computes it natively and a timing showed it faster")
    return f"<small>About this server: the pictures are computed {where}, in {how} — {chosen}.</small>"


def _threads_text(one_thread_below: int) -> str:
    """How many threads the denoiser's calls run on (explorer.call_threads)."""
    from explorer import call_threads

    most = call_threads.most()
    if most == 1 or one_thread_below >= call_threads.ALWAYS:
        return "1 thread"
    if one_thread_below > 1:
        return f"{most} threads for {one_thread_below} or more pictures at once and 1 thread for fewer"
    return f"{most} threads"


def dataset_radio() -> gr.Radio:
    """The dataset switch shared by all tabs; its value is a dataset key ("fashion" / "mnist")."""
    return gr.Radio(DATASET_CHOICES, value=DEFAULT_DATASET, label="Pictures of", interactive=True,
                    show_label=False, elem_id="dataset", scale=0, min_width=200)


def class_dropdown(dataset_radio: gr.Radio, api_name: str, label: str = "Class") -> gr.Dropdown:
    """The classes of the chosen dataset (its first one selected), following the dataset switch."""
    classes = dataset_info(DEFAULT_DATASET).class_names
    dropdown = gr.Dropdown(list(classes), value=classes[0], allow_custom_value=True, label=label)
    dataset_radio.change(_classes_of, inputs=dataset_radio, outputs=dropdown, api_name=api_name,
                         api_visibility="undocumented", show_progress="hidden")
    return dropdown


def _classes_of(dataset: str) -> gr.Dropdown:
    """The class list of ``dataset``, its first class chosen."""
    with user_errors():
        classes = dataset_info(dataset).class_names
    return gr.Dropdown(choices=list(classes), value=classes[0])


@contextmanager
def user_errors() -> Iterator[None]:
    """Inside this block a ValueError (UploadError included) reaches the user as a gr.Error."""
    try:
        yield
    except ValueError as error:
        raise gr.Error(html.escape(str(error), quote=False), print_exception=False) from None  # a toast is HTML


def big(image: np.ndarray) -> np.ndarray:
    """uint8 (28, 28) → uint8 (280, 280), nearest neighbour: crisp on a projector."""
    return plots.upscale(image, DISPLAY_SIZE)


def reveal(triggers: list, elem_id: str) -> None:
    """On any of ``triggers``, scroll the page to the element ``elem_id`` if none of it is on screen.

    For results that sit below the controls on a phone (Gradio stacks the columns): the browser
    scrolls at once, and the results arrive where the student is looking. Where the results are
    already in sight (beside the controls, on a desktop) the page stays put. Gradio 6.31's own
    ``scroll_to_output`` does nothing here: its browser code never reads that setting.
    """
    gr.on(triggers, None, js=REVEAL_JS.replace("ELEM_ID", elem_id), queue=False, show_progress="hidden")


def leave_ranges_to_validators() -> None:
    """Every gr.Slider and gr.Number of the app: its range bounds the widget only, and an API caller's
    number reaches the handler, whose validator names the setting and its range.

    Gradio's own check would answer 10**9 with "Value 1000000000 is greater than maximum value
    1000.", naming neither the setting nor what to do. Set on the classes, not on each widget: a
    handler that changes a widget's range (the scrub slider after a run, the guidance grid's step
    slider) makes Gradio keep a new plain instance in the session, and an instance's own patch would
    not carry over to it. (A subclass would make Gradio write a .pyi stub next to this module at import.)
    """
    from explorer.server import gradio_hooks

    gradio_hooks.replace_preprocess(gr.Slider, _preprocess_without_range_check)
    gradio_hooks.replace_preprocess(gr.Number, _preprocess_without_range_check)
    gradio_hooks.replace_preprocess(gr.Textbox, _text_as_sent)
    gradio_hooks.replace_input_count_check(_too_few_inputs_by_name)


def _text_as_sent(self, payload):
    """What was sent, unchanged: Gradio's str(payload) would echo a list as "['a']"; the prompt's check
    refuses anything but text ("The prompt must be text, got list.")."""
    return payload


def _too_few_inputs_by_name(self, block_fn, inputs) -> None:
    """Too few inputs: what the endpoint takes, by label (Gradio's message lists Python object addresses)."""
    if len(inputs) < len(block_fn.inputs):
        labels = "; ".join(str(getattr(block, "label", None) or type(block).__name__) for block in block_fn.inputs)
        raise gr.Error(f"/{block_fn.api_name} takes {len(block_fn.inputs)} inputs ({labels}); got {len(inputs)}.",
                       print_exception=False)


def _preprocess_without_range_check(self, payload):
    return _as_sent(payload, self.precision)


def _as_sent(payload, precision: int | None):
    """A finite number rounded as Gradio would, anything else (NaN, ∞, a string, an integer too large
    for a float such as 10**400) unchanged for the validator."""
    if isinstance(payload, (int, float)) and not isinstance(payload, bool):
        try:
            if math.isfinite(payload) and (precision != 0 or float(payload).is_integer()):  # 1.5: refused, not 2
                return gr.Number.round_to_precision(payload, precision)
        except OverflowError:  # math.isfinite(10**400): the validator names the range instead
            pass
    return payload


BRUSH_JS = """() => { const started = Date.now();
  const choose = () => { const brush = document.querySelector('#PAD button[aria-label=Brush]');
    if (!brush || brush.offsetParent === null) { if (Date.now() - started < 10000) setTimeout(choose, 100); return; }
    if (!brush.classList.contains('highlight')) brush.click(); };
  setTimeout(choose, 100); }"""


PAD_HINT = "Draw a shape or a digit, big and bold:"


def drawing_pad(tab: gr.Tab, elem_id: str) -> gr.Sketchpad:
    """The app's drawing pad, inside the current ``tab`` (a "Draw" tab that is not the first one): black ink on a
    280×280 canvas, one layer (the model sees it at 28×28), ready to draw whenever ``tab`` is opened. What to
    draw stands above the pad, not in its label, which the pad's zoom bar covers on a phone."""
    gr.Markdown(PAD_HINT)
    pad = gr.Sketchpad(label=PAD_HINT, show_label=False, type="numpy", canvas_size=(280, 280),
                       layers=False, transforms=(), elem_id=elem_id,
                       brush=gr.Brush(colors=["#000000"], default_color="#000000", color_mode="fixed",
                                      default_size=12))
    choose_brush(tab.select, elem_id)
    return pad


def choose_brush(shown, elem_id: str) -> None:
    """When the event ``shown`` (the listener of what shows the pad ``elem_id``: a tab's ``select``, an
    accordion's ``expand``) happens, the page presses the pad's Brush button (once it is on screen, within 10 s).

    Gradio's editor opens with no tool chosen ("select the draw tool to start"): a finger or mouse dragged on it
    draws nothing and, on a phone, selects that sentence. Gradio 6.31 has no setting for the opening tool.
    """
    shown(None, js=BRUSH_JS.replace("PAD", elem_id), queue=False, api_visibility="private", show_progress="hidden")


def gallery_size(dataset: str) -> int:
    """How many real pictures the shipped gallery of ``dataset`` holds."""
    from explorer.data import load_gallery

    return int(load_gallery(dataset)[0].shape[0])


def image_output(label: str, **kwargs) -> gr.Image:
    """A read-only image shown as lossless PNG with crisp pixels (webp would blur the blocks)."""
    return gr.Image(label=label, format="png", interactive=False, elem_classes=[CRISP],
                    buttons=["download", "fullscreen"], **kwargs)
