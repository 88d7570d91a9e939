"""The "Add noise" tab: widgets and event wiring around ``explorer.demos.add_noise.add_noise``.

Owns: the layout of the tab (lesson text beside the controls; picture pickers: real gallery image, upload, drawing;
outputs: the picture after k noising steps, the added noise, a strip over k, the schedule and histogram plots, one
jump vs k small steps, with the paragraph that points at the Remove-noise tab's backward jump; the maths in a
closed accordion; a predict-then-reveal question, answered once k, the schedule or the seed has moved and the
noised picture is back, and its "why" in a closed section after it; the "Ask the network" section,
explorer.ui.ask_the_network_section, which follows the noisy picture), and its events. The public endpoint
``/noise`` takes (dataset, gallery_index, k, schedule, seed), all with defaults; ``/noise_upload`` takes an image
file first and also returns, last, the 28×28 picture made from it. Uploads arrive as plain bytes (a gr.File, not a
gr.Image) so that Gradio never decodes them: explorer.uploads does, and every bad file gets its message. An
uploaded or drawn picture lives in per-browser state until a gallery image is picked or the dataset changes. The
drawing pad opens ready to draw (common.drawing_pad). Picking a picture (click or upload) scrolls the page to the
results when none of them is on screen (on a phone they are below the controls); moving a slider or drawing never
scrolls, so the control stays under the finger.
Does not know: the maths (the demo does it) or the pictures' decoding (explorer.uploads does it).
"""

from __future__ import annotations

import gradio as gr
import numpy as np

from explorer import plots, uploads
from explorer.data import dataset_info, load_gallery
from explorer.demos import add_noise
from explorer.schedules import SCHEDULE_NAMES
from explorer.ui import ask_the_network_section, common, links, predict_reveal, watch_it_learn_section

FORMULA = r"$$x_t = \sqrt{\bar\alpha_t}\, x_0 + \sqrt{1-\bar\alpha_t}\, \varepsilon$$"
CAPTION = "**Move k** and watch the picture fade into random static, one small step at a time."
LESSON = f"""
### Adding noise, one small step at a time
Each step fades the picture a tiny bit and sprinkles on a little random **static**. Move **k** (the
number of noising steps) and watch the picture sink into the static. The schedule sets the size of each
step: two recipes, linear and cosine (the networks of the other tabs learned the cosine one). The same
seed gives the same static.

- **After {add_noise.MAX_STEPS} steps only static is left:** the pixel values then follow the bell curve
  of pure static (see the histogram).
"""
WHY = """
- **Nothing is learned here.** No neural network, no training: a fixed recipe of fading and static.
- **The noise is the method.** Later a network is trained to undo it, one small step at a time: that is
  how a diffusion model makes new pictures out of pure static (see "Ask the network" below, and the
  Remove noise tab).
"""
MATHS = f"""
The picture x_0 has pixels from −1 (black) to 1 (white). One step t multiplies the picture by √(1−β_t),
just under 1, and adds √β_t times fresh random static (β_t is a small number the schedule sets).
After t steps this adds up to one formula, where ε is random static (every pixel drawn from the bell
curve N(0, 1): mean 0, spread 1):

{FORMULA}

ᾱ_t ("alpha-bar") is the product of the t factors (1−β). √ᾱ_t is the "picture left" line in the
chart and √(1−ᾱ_t) the "static added" line; ᾱ/(1−ᾱ) is called the signal-to-noise ratio (its
logarithm, log SNR, is what papers plot). The cosine and linear schedules are two choices of the β's.
The shipped networks are trained to output v = √ᾱ_t·ε − √(1−ᾱ_t)·x_0 ("v-prediction") rather than ε
itself: given x_t, any one of ε, x_0 and v gives the other two, so it is the same task as guessing the
static. "Ask the network" converts its answer to ε and to x_0.

Here t counts the noising steps done (the slider's k): x_t is the picture after t = k steps, and
t = 1000 is pure static. The other tabs number the schedule's steps from 0 to 999 instead, so k steps
here are their t = k − 1 (999 = pure static).

In the comparison table, "mean" is the average and "std" the spread of the 784 pixels; the noise is
(x_t − √ᾱ·x_0) / √(1−ᾱ).
"""
ONE_JUMP_CAPTION = "**One jump, or k small steps?** Adding noise gives the same kind of picture either way."
ONE_JUMP = """
### One jump, or k small steps?
**The same kind of picture.** Here we choose the static ourselves, so k steps' worth can be added in
one go (The maths shows how): the jump and the k small steps give pictures with the same amount of
static (other random pixels, same statistics in the table). Going **backwards** is another story:
guess how it goes in "One jump, or many small steps?" on the Remove noise tab.
"""
STEPS_LABEL = f"k: noising steps (0 = clean, {add_noise.MAX_STEPS} = pure static)"
GALLERY_THUMB = 84  # px of a gallery thumbnail
RESULTS_ID = "noise-results"  # elem_id of the column of outputs
DRAWING_ID = "noise-drawing"  # elem_id of the drawing pad
GALLERY_COLUMNS = 4  # thumbnails per row: they shrink to fit a phone, never scroll sideways
UPLOAD_LABEL = "Your picture (PNG or JPEG, up to 10 MB)"


def build(dataset_radio: gr.Radio) -> None:
    """Create the tab's content inside the current ``gr.Tab`` and wire its events."""
    first = add_noise.add_noise()  # the default picture, so the page opens filled in
    with gr.Row():
        with gr.Column(scale=2, min_width=300):
            gr.Markdown(CAPTION, elem_classes=[common.CAPTION])
            schedule = gr.Radio(list(SCHEDULE_NAMES), value=first.schedule,
                                label="Schedule")
            seed = gr.Number(0, precision=0, minimum=0, maximum=add_noise.MAX_SEED,
                             label="Seed")
            links.setting("schedule", schedule, links.Choice(tuple(SCHEDULE_NAMES)))
            links.setting("seed", seed, links.Whole(0, add_noise.MAX_SEED))
            with gr.Tabs():
                with gr.Tab("Real picture"):
                    gallery = gr.Gallery(_gallery_items(common.DEFAULT_DATASET), label="Click a picture",
                                         columns=GALLERY_COLUMNS, height=300, allow_preview=False, format="png",
                                         elem_classes=[common.CRISP, common.FIT_WIDTH], interactive=False)
                    index = gr.Slider(0, common.gallery_size(common.DEFAULT_DATASET) - 1, value=0, step=1,
                                      label="Picture number")
                with gr.Tab("Upload"):
                    upload = gr.File(type="binary", file_types=list(uploads.EXTENSIONS), label=UPLOAD_LABEL)
                    preview = common.image_output("What the model gets (28×28)")
                with gr.Tab("Draw") as draw_tab:
                    sketch = common.drawing_pad(draw_tab, DRAWING_ID)
            asked = predict_reveal.question(
                "Does adding noise need a trained network?",
                ["Yes, it must learn it", "No, it is a fixed recipe"], "No, it is a fixed recipe",
                "Adding noise is a formula with random numbers: fade the picture, add static. Nothing is "
                "learned. The network only comes in to undo it — see \"Ask the network\" below.",
                action="move the **k** slider")
            predict_reveal.why(WHY)
            common.notes(LESSON, MATHS)
        with gr.Column(scale=3, min_width=300, elem_id=RESULTS_ID):  # k right above the pictures, on a phone too
            steps = links.setting("k", gr.Slider(0, add_noise.MAX_STEPS, value=add_noise.DEFAULT_STEPS, step=1,
                                                 label=STEPS_LABEL), links.Whole(0, add_noise.MAX_STEPS))
            outputs = _output_widgets(first)
    custom = gr.State(None)  # (28, 28) uint8 of an upload/drawing, or None for the gallery picture
    ask_the_network_section.build([dataset_radio, index, steps, seed, custom], outputs[0].change)

    settings = [dataset_radio, index, steps, schedule, seed]
    noised = gr.on([steps.change, schedule.change, seed.change], _noise, inputs=[*settings, custom],
                   outputs=outputs, api_name="noise", trigger_mode="always_last", show_progress="hidden")
    asked.reveal_after(noised)
    index.input(_pick, inputs=settings, outputs=[custom, *outputs], api_name="noise_pick",
                api_visibility="undocumented", trigger_mode="always_last", show_progress="hidden")
    gallery.select(_select, inputs=[dataset_radio, steps, schedule, seed], outputs=[index, custom, *outputs],
                   api_name="noise_select", api_visibility="private", show_progress="hidden")
    dataset_radio.change(_switch_dataset, inputs=settings, outputs=[gallery, index, custom, *outputs],
                         api_name="noise_dataset", api_visibility="undocumented", show_progress="hidden")
    upload.change(_from_upload, inputs=[upload, *settings], outputs=[custom, *outputs, preview],
                  api_name="noise_upload")
    common.reveal([gallery.select, upload.upload], RESULTS_ID)
    sketch.change(_from_drawing, inputs=[sketch, *settings], outputs=[custom, *outputs],
                  api_name="noise_drawing", api_visibility="undocumented", trigger_mode="always_last",
                  show_progress="hidden")
    watch_it_learn_section.build()


def _output_widgets(first: add_noise.NoisingResult) -> list[gr.components.Component]:
    """The tab's outputs, in the order ``_outputs`` fills them, showing ``first``."""
    values = _outputs(first)
    with gr.Row():
        x_t = common.image_output("The picture after k steps", value=values[0])
        noise = common.image_output("The static added (grey = 0)", value=values[1])
    numbers = gr.Markdown(values[2], label="numbers")
    strip = common.image_output(f"The same static at k = 0 … {add_noise.MAX_STEPS}",
                                value=values[3])
    with gr.Row():
        schedule_plot = gr.Plot(values[4], label="How much signal and noise are left", show_label=False)
        histogram = gr.Plot(values[5], label="Pixel values", show_label=False)
    gr.Markdown(ONE_JUMP_CAPTION, elem_classes=[common.CAPTION])
    common.notes(ONE_JUMP)
    comparison = common.image_output("Left: the formula in one jump. Right: k small steps", value=values[6])
    with gr.Accordion("The numbers: one jump against k small steps", open=False, elem_classes=[common.NOTES]):
        stats = gr.Markdown(values[7], label="comparison table")
    return [x_t, noise, numbers, strip, schedule_plot, histogram, comparison, stats]


# ----------------------------------------------------------------------------- event handlers

def _noise(dataset: str, gallery_index: int, k: int, schedule: str, seed: int, custom: np.ndarray | None) -> tuple:
    """The main update: the gallery picture (or the custom one) after ``k`` noising steps."""
    with common.user_errors():
        return _outputs(add_noise.add_noise(dataset, gallery_index, custom, k, schedule, seed))


def _pick(dataset: str, gallery_index: int, k: int, schedule: str, seed: int) -> tuple:
    """A gallery picture chosen by number: forget any upload or drawing."""
    return (None, *_noise(dataset, gallery_index, k, schedule, seed, None))


def _select(dataset: str, k: int, schedule: str, seed: int, event: gr.SelectData) -> tuple:
    """A gallery picture clicked: move the number slider to it and show it."""
    return (event.index, *_pick(dataset, event.index, k, schedule, seed))


def _switch_dataset(dataset: str, gallery_index: int, k: int, schedule: str, seed: int) -> tuple:
    """Another dataset: its gallery, and its picture with the same number (if it has that many)."""
    with common.user_errors():
        items = _gallery_items(dataset)
    gallery_index = min(int(gallery_index), len(items) - 1)
    return (items, gr.Slider(maximum=len(items) - 1, value=gallery_index),
            *_pick(dataset, gallery_index, k, schedule, seed))


def _from_upload(image_file: bytes | None, dataset: str, gallery_index: int, k: int, schedule: str,
                 seed: int) -> tuple:
    """An uploaded file's bytes (or its removal, which goes back to the gallery picture); the preview last."""
    if image_file is None:
        return (*_pick(dataset, gallery_index, k, schedule, seed), None)
    with common.user_errors():
        image = uploads.to_training_style(image_file, box=uploads.FIT_BOX[dataset_info(dataset).key])
    return (image, *_noise(dataset, gallery_index, k, schedule, seed, image), common.big(image))


def _from_drawing(drawing: dict | None, dataset: str, gallery_index: int, k: int, schedule: str, seed: int) -> tuple:
    """A drawing; an empty canvas (e.g. just cleared) goes back to the gallery picture."""
    with common.user_errors():
        try:
            image = uploads.to_training_style(drawing, box=uploads.FIT_BOX[dataset_info(dataset).key])
        except uploads.BlankImageError:
            return _pick(dataset, gallery_index, k, schedule, seed)
    return (image, *_noise(dataset, gallery_index, k, schedule, seed, image))


# ----------------------------------------------------------------------------- presentation

def _gallery_items(dataset: str) -> list[np.ndarray]:
    """The shipped real pictures of ``dataset``, upscaled for crisp thumbnails."""
    images, _ = load_gallery(dataset)  # (N, 28, 28) uint8
    return [plots.upscale(image, GALLERY_THUMB) for image in images]


def _outputs(result: add_noise.NoisingResult) -> tuple:
    """A NoisingResult → the values of the tab's output widgets, in order."""
    return (
        common.big(result.x_t),
        common.big(result.noise),
        _numbers(result),
        result.strip,
        result.schedule_figure,
        result.histogram_figure,
        result.comparison,
        _comparison_text(result),
    )


def _numbers(result: add_noise.NoisingResult) -> str:
    return (f"**k = {result.steps}** · {result.picture}, {result.schedule} schedule · "
            f"picture left **{result.signal_level:.2f}**, static **{result.noise_level:.2f}**")


def _comparison_text(result: add_noise.NoisingResult) -> str:
    if result.steps == 0:
        return "At k = 0 no noise has been added yet: both are the clean picture."
    jump, stepped = result.jump_stats, result.stepped_stats
    rows = [("picture: average", f"{jump.mean:+.2f}", f"{stepped.mean:+.2f}"),
            ("picture: spread", f"{jump.std:.2f}", f"{stepped.std:.2f}"),
            ("static: average", f"{jump.noise_mean:+.2f}", f"{stepped.noise_mean:+.2f}"),
            ("static: spread", f"{jump.noise_std:.2f}", f"{stepped.noise_std:.2f}")]
    table = "\n".join(f"| {name} | {a} | {b} |" for name, a, b in rows)
    return (f"| | one jump | {result.steps} small steps |\n|---|---|---|\n" + table +
            "\n\nThe pixels differ (other random draws), but the numbers match: the static in both has "
            "average about 0 and spread about 1, like pure static.")
