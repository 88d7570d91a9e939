"""The "Finish my drawing" section of the Remove-noise tab: widgets and events around
``explorer.demos.finish_drawing``.

Owns: the section's layout (one caption sentence; the picture pickers — draw, upload, a real picture by number —,
the class list with "none", k and the seed; a predict-then-reveal question, answered once a run is finished, whose
strip stays blurred until a guess is picked; the lesson and its "why" in closed sections; the outputs: the picture
going into each step and the network's guess while the run streams, then the picture | noised | finished trio, the
verdict in words — the opening's numbers held back until a guess — and the strip from k = 200 / 500 / 800), and its
events. The public endpoint ``/finish_drawing`` takes (dataset, gallery_index, k, class_name, seed), all with
defaults (a shipped real picture, no class, k = 500, seed 0): a student's drawing or upload arrives through
per-browser state. It runs in the concurrency group "model"; the opening (the defaults' run) is made in the
background at start (explorer.server.openings).
Links: the section's settings travel in the Remove-noise tab's links as ``finish_picture``, ``finish_class``,
``finish_k`` and ``finish_seed`` (explorer.ui.links: bad values left out with a note); a link naming any of them
presses "Finish it" once the section's opening is on the page, and never the tab's Generate (a drawing or an
upload cannot travel in a link).
On a phone, a run scrolls its pictures into view.
Does not know: the maths (the demo does it) or how drawings and uploads are decoded (explorer.uploads, whose
checks — size, layers, blank — the drawing pad's uploads also pass through explorer.server.upload_limits).
"""

from __future__ import annotations

import gradio as gr
import numpy as np

from explorer import uploads
from explorer.checks import MAX_SEED
from explorer.data import dataset_info
from explorer.demos import finish_drawing as demo
from explorer.server import estimates, openings, serving
from explorer.ui import common, links, predict_reveal

SECTION_ID = "finish-drawing"
RESULTS_ID = "finish-drawing-results"  # the pictures' column: a run on a phone scrolls it into view
RUN_ID = "finish-drawing-run"
STRIP_ID = "finish-drawing-strip"  # the strip: the opening has come once it shows a picture
PICTURE_ID, PAIR_ID, VERDICT_ID = "finish-drawing-picture", "finish-drawing-pair", "finish-drawing-verdict"
DRAWING_ID = "finish-drawing-pad"
RUN = "Finish it"  # the button's label
CAPTION = "**Finish my drawing:** noise it k steps, then the network cleans it up."
LESSON = """
### Finish my drawing
Draw something (or upload a picture, or pick a real one), choose a class (or none) and **k**, the number of
noising steps. The picture is noised to k steps with the Add noise tab's recipe (the cosine schedule, the one
the network learned) and the network then removes the static step by step, as in the run at the top of this
tab, but starting from your noised picture instead of pure static. The static added is the very static that a
run from pure static with the same seed starts from.

- **The strip** shows the same picture finished from k = 200, 500 and 800, all with the same static; the
  number beside each k is the finished picture's likeness to yours (1 = unchanged, 0 = unrelated).
- **k = 1000** is pure static: the same picture as a run from pure static with this seed and class.
  **k = 0** gives your picture back untouched.
"""
WHY = """
- **A little static (small k):** the network only has to tidy up, so your strokes stay and are smoothed
  towards how the training pictures look.
- **A lot of static (large k):** almost nothing of your picture is left to go on, so the network draws a
  typical picture of the class (or of anything, with no class) — whatever was drawn.
- This is also how picture-editing tools built on these networks work: noise a sketch part of the way, then
  let the network finish it.
"""
K_LABEL = f"k: noising steps (0 = yours, {demo.MAX_K} = static)"
CLASS_LABEL = "Finish as"
SEED_LABEL = "Static (seed)"  # not "Seed…": the tab's own seed box is found by a label that starts so
UPLOAD_LABEL = "Your picture (PNG or JPEG, up to 10 MB)"


def build(dataset_radio: gr.Radio) -> None:
    """The section, inside the current Blocks context (the Remove-noise tab)."""
    with gr.Row(elem_id=SECTION_ID):
        with gr.Column(scale=2, min_width=300):
            gr.Markdown(CAPTION, elem_classes=[common.CAPTION])
            with gr.Tabs():
                with gr.Tab("Real picture"):  # first: the page opens on a filled picture, not an empty pad
                    index = gr.Slider(0, common.gallery_size(common.DEFAULT_DATASET) - 1, value=0, step=1,
                                      label="Picture number")
                with gr.Tab("Draw") as draw_tab:
                    sketch = common.drawing_pad(draw_tab, DRAWING_ID)  # ready to draw when its tab opens
                with gr.Tab("Upload"):
                    upload = gr.File(type="binary", file_types=list(uploads.EXTENSIONS), label=UPLOAD_LABEL)
            classes = _class_choices(common.DEFAULT_DATASET)
            class_name = gr.Dropdown(classes, value=demo.NO_CLASS, allow_custom_value=True,  # the demo checks it
                                     label=CLASS_LABEL)
            k = gr.Slider(0, demo.MAX_K, value=demo.DEFAULT_K, step=1, label=K_LABEL)
            seed = gr.Number(0, precision=0, minimum=0, maximum=MAX_SEED, label=SEED_LABEL)
            run = gr.Button(RUN, variant="primary", elem_id=RUN_ID)
            asked = predict_reveal.question(
                "From k = 800, will your drawing survive?",
                ["Yes, the strokes stay", "No, a typical picture of the class appears"],
                "No, a typical picture of the class appears",
                "At k = 800 very little of the picture is left under the static, so the network has almost "
                "nothing of yours to go on and draws a typical picture of the class. From k = 200 your strokes "
                "stay and are only tidied up. Compare the strip's columns.",
                action=predict_reveal.press(RUN))
            predict_reveal.why(WHY)
            common.notes(LESSON)
        with gr.Column(scale=3, min_width=300, elem_id=RESULTS_ID):
            with gr.Row():
                x_t_image = common.image_output("This step", elem_id=PICTURE_ID)
                x0_image = common.image_output("Its guess of the result")
            pair = common.image_output("yours | noised | finished", elem_id=PAIR_ID)
            verdict = gr.Markdown("", elem_id=VERDICT_ID)
            strip = common.image_output("From k = 200 / 500 / 800", elem_id=STRIP_ID)
    _link(index, class_name, k, seed, run)
    outputs = [x_t_image, x0_image, pair, verdict, strip]
    asked.covers(strip)
    custom = gr.State(None)  # (28, 28) uint8 of a drawing or an upload; None: the real picture

    inputs = [dataset_radio, index, k, class_name, seed, custom]
    triggers = [run.click, k.release, seed.submit]
    finished = gr.on(triggers, serving.gpu(_finish), inputs=inputs, outputs=outputs,
                     api_name="finish_drawing", concurrency_id=serving.MODEL_GROUP,
                     concurrency_limit=serving.QUICK_CONCURRENCY, trigger_mode="always_last")
    estimates.declare_units("finish_drawing", lambda k, **rest: float(  # network steps: the run's and the strip's
        demo.run_steps(int(k)) + sum(demo.run_steps(strip_k) for strip_k in demo.STRIP_KS)), seeds=[seed])
    asked.reveal_after(finished)
    common.reveal(triggers, RESULTS_ID)
    light = dict(queue=False, api_visibility="private", show_progress="hidden")
    sketch.change(_from_drawing, inputs=[sketch, dataset_radio], outputs=custom, **light)
    upload.change(_from_upload, inputs=[upload, dataset_radio], outputs=custom, **light)
    index.input(lambda: None, outputs=custom, **light)  # a real picture picked: forget the drawing
    dataset_radio.change(_switch_dataset, inputs=[dataset_radio, class_name, index], outputs=[class_name, index],
                         **light)
    openings.fill(outputs, _opening, api_name="finish_drawing_opening")


def _link(index: gr.Slider, class_name: gr.Dropdown, k: gr.Slider, seed: gr.Number, run: gr.Button) -> None:
    """The section's settings in the tab's links; a link naming any of them presses ``run`` once the opening is
    shown (else the opening, made in the background, could land over the linked run)."""
    pictures = max(common.gallery_size(key) for _, key in common.DATASET_CHOICES)
    settings = [("finish_picture", index, links.Whole(0, pictures - 1)), ("finish_class", class_name, links.Text(40)),
                ("finish_k", k, links.Whole(0, demo.MAX_K)), ("finish_seed", seed, links.Whole(0, MAX_SEED))]
    for name, widget, kind in settings:
        links.setting(name, widget, kind)
    links.press_when_linked(run, [name for name, _, _ in settings], after=f"#{STRIP_ID} img")


# ----------------------------------------------------------------------------- event handlers

def _finish(dataset: str = common.DEFAULT_DATASET, gallery_index: int = 0, k: int = demo.DEFAULT_K,
            class_name: str = demo.NO_CLASS, seed: int = 0, custom: np.ndarray | None = None):
    """Stream the picture going into each step and the network's guess; then every output."""
    with common.user_errors():
        for item in demo.finish_drawing_stream(dataset, gallery_index, custom, class_name, k, seed):
            if isinstance(item, demo.FinishFrame):
                # None, not gr.skip(), for the finished run's pictures: see remove_noise_tab._frame_outputs
                yield common.big(item.x_t), common.big(item.x0), None, f"**Step {item.step} of {item.steps}**", None
            else:
                yield _outputs(item)


def _opening() -> tuple:
    return _outputs(demo.finish_drawing(), measured=False)


def _outputs(result: demo.FinishResult, measured: bool = True) -> tuple:
    shown_x_t = result.x_t[-1] if result.steps else result.noised
    shown_x0 = result.x0[-1] if result.steps else result.final
    return common.big(shown_x_t), common.big(shown_x0), result.pair, _verdict(result, measured), result.strip


def _verdict(result: demo.FinishResult, measured: bool = True) -> str:
    """The run's verdict; for the opening (not ``measured`` by the student) what was run, its numbers held back."""
    if not measured:
        told = "no class" if result.label is None else f"told: {result.class_name}"
        return f"**From k = {result.k}** ({told}, seed {result.seed}). {predict_reveal.held_back()}"
    again = " Answered from the cache: made before." if result.cached else ""
    return demo.verdict(result) + again


def _from_drawing(drawing: dict | None, dataset: str) -> np.ndarray | None:
    """A drawing → the 28×28 picture the network gets; an empty canvas (just cleared) → None (the real picture)."""
    with common.user_errors():
        try:
            return uploads.to_training_style(drawing, box=uploads.FIT_BOX[dataset_info(dataset).key])
        except uploads.BlankImageError:
            return None


def _from_upload(image_file: bytes | None, dataset: str) -> np.ndarray | None:
    if image_file is None:
        return None
    with common.user_errors():
        return uploads.to_training_style(image_file, box=uploads.FIT_BOX[dataset_info(dataset).key])


def _switch_dataset(dataset: str, class_name: str = demo.NO_CLASS, gallery_index: int = 0) -> tuple:
    """Another dataset: its classes and its real pictures (a drawing stays in use). A class of the new dataset
    and a picture number it has stay chosen (a link's values arrive with its dataset); others go back to none
    and picture 0."""
    with common.user_errors():
        choices = _class_choices(dataset)
    size = common.gallery_size(dataset)
    kept = class_name if class_name in choices else demo.NO_CLASS
    index = gallery_index if isinstance(gallery_index, (int, float)) and 0 <= gallery_index < size else 0
    return gr.Dropdown(choices=choices, value=kept), gr.Slider(maximum=size - 1, value=index)


def _class_choices(dataset: str) -> list[str]:
    return [demo.NO_CLASS, *dataset_info(dataset).class_names]


