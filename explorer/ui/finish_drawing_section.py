"""The "Finish my drawing" section of the Remove-noise tab: widgets and events around
``explorer.demos.finish_drawing``.

Owns: the section's layout (one caption sentence; the picture pickers — draw, upload, a real picture by
number —, the class list with "none", k and the seed; a predict-then-reveal question, answered once a run
is finished, whose strip stays blurred until a guess is picked; the lesson and its "why" in closed
sections; the outputs: the picture going into each step and the network's guess while the run streams,
then the picture | noised | finished trio, the verdict in words and the strip from k = 200 / 500 / 800),
and its events. The public endpoint ``/finish_drawing`` takes (dataset, gallery_index, k, class_name, seed),
all with defaults (a shipped real picture, no class, k = 500, seed 0): a student's drawing or upload
arrives through per-browser state. It runs in the concurrency group "model"; the opening (the defaults'
run) is made in the background at start (explorer.ui.openings).
Does not know: the maths (the demo does it) or how drawings and uploads are decoded (explorer.uploads, whose
checks — size, layers, blank — the drawing pad's uploads also pass through explorer.ui.upload_limits).
"""

from __future__ import annotations

import gradio as gr
import numpy as np

from explorer import uploads
from explorer.checks import MAX_SEED
from explorer.data import dataset_info
from explorer.demos import finish_drawing as demo
from explorer.ui import common, estimates, openings, predict_reveal, serving

SECTION_ID = "finish-drawing"
RUN = "Finish it"  # the button's label
CAPTION = ("**Finish my drawing:** noise your drawing k steps, then let the network remove the static again, "
           "step by step.")
LESSON = """
### Finish my drawing
Draw something (or upload a picture, or pick a real one), choose a class (or none) and **k**, the number of
noising steps. The picture is noised to k steps, exactly as on the Add noise tab, and the network then
removes the static step by step, as in the run above, but starting from your noised picture instead of pure
static.

- **The strip** shows the same picture finished from k = 200, 500 and 800, all with the same static; the
  number under each is its likeness to your picture (1 = unchanged, 0 = unrelated).
- **k = 1000** is pure static: the same picture as a run from pure static with this seed. **k = 0** gives
  your picture back untouched.
"""
WHY = """
- **A little static (small k):** the network only has to tidy up, so your strokes stay and are smoothed
  towards how the training pictures look.
- **A lot of static (large k):** almost nothing of your picture is left to go on, so the network draws a
  typical picture of the class (or of anything, with no class) — whatever was drawn.
- This is also how picture-editing tools built on these networks work: noise a sketch part of the way, then
  let the network finish it.
"""
K_LABEL = f"k: noising steps before finishing (0 = your picture, {demo.MAX_K} = pure static)"
UPLOAD_LABEL = "Your picture (PNG or JPEG, up to 10 MB)"


def build(dataset_radio: gr.Radio) -> None:
    """The section, inside the current Blocks context (the Remove-noise tab)."""
    with gr.Row(elem_id=SECTION_ID):
        with gr.Column(scale=2, min_width=300):
            gr.Markdown(CAPTION, elem_classes=[common.CAPTION])
            with gr.Tabs():
                with gr.Tab("Real picture"):  # first: the page opens on a filled picture, not an empty pad
                    index = gr.Slider(0, common.gallery_size(common.DEFAULT_DATASET) - 1, value=0, step=1,
                                      label="Real picture number (used when nothing is drawn or uploaded)")
                with gr.Tab("Draw"):
                    sketch = common.drawing_pad()
                with gr.Tab("Upload"):
                    upload = gr.File(type="binary", file_types=list(uploads.EXTENSIONS), label=UPLOAD_LABEL)
            classes = _class_choices(common.DEFAULT_DATASET)
            class_name = gr.Dropdown(classes, value=demo.NO_CLASS, allow_custom_value=True,  # the demo checks it
                                     label="Class to finish it as (none = no class)")
            k = gr.Slider(0, demo.MAX_K, value=demo.DEFAULT_K, step=1, label=K_LABEL)
            seed = gr.Number(0, precision=0, minimum=0, maximum=MAX_SEED, label="Which static is added (seed)")
            run = gr.Button(RUN, variant="primary")
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
        with gr.Column(scale=3, min_width=300):
            with gr.Row():
                x_t_image = common.image_output("Your picture, going into this step")
                x0_image = common.image_output("The network's guess of the finished picture")
            pair = common.image_output("Your picture | noised to k | finished")
            verdict = gr.Markdown("")
            strip = common.image_output("The same picture and static, finished from k = 200 / 500 / 800")
    outputs = [x_t_image, x0_image, pair, verdict, strip]
    asked.covers(strip)
    custom = gr.State(None)  # (28, 28) uint8 of a drawing or an upload; None: the real picture

    inputs = [dataset_radio, index, k, class_name, seed, custom]
    finished = gr.on([run.click, k.release, seed.submit], serving.gpu(_finish), inputs=inputs, outputs=outputs,
                     api_name="finish_drawing", concurrency_id=serving.MODEL_GROUP,
                     concurrency_limit=serving.QUICK_CONCURRENCY, trigger_mode="always_last")
    estimates.declare_units("finish_drawing", lambda k, **rest: float(  # network steps: the run's and the strip's
        demo.run_steps(int(k)) + sum(demo.run_steps(strip_k) for strip_k in demo.STRIP_KS)), seeds=[seed])
    asked.reveal_after(finished)
    light = dict(queue=False, api_visibility="private", show_progress="hidden")
    sketch.change(_from_drawing, inputs=[sketch, dataset_radio], outputs=custom, **light)
    upload.change(_from_upload, inputs=[upload, dataset_radio], outputs=custom, **light)
    index.input(lambda: None, outputs=custom, **light)  # a real picture picked: forget the drawing
    dataset_radio.change(_switch_dataset, inputs=dataset_radio, outputs=[class_name, index], **light)
    openings.fill(outputs, _opening, api_name="finish_drawing_opening")


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
    return _outputs(demo.finish_drawing())


def _outputs(result: demo.FinishResult) -> tuple:
    shown_x_t = result.x_t[-1] if result.steps else result.noised
    shown_x0 = result.x0[-1] if result.steps else result.final
    return common.big(shown_x_t), common.big(shown_x0), result.pair, _verdict(result), result.strip


def _verdict(result: demo.FinishResult) -> str:
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


def _switch_dataset(dataset: str) -> tuple:
    """Another dataset: its classes (none chosen) and its real pictures (a drawing stays in use)."""
    with common.user_errors():
        choices = _class_choices(dataset)
    return (gr.Dropdown(choices=choices, value=demo.NO_CLASS),
            gr.Slider(maximum=common.gallery_size(dataset) - 1, value=0))


def _class_choices(dataset: str) -> list[str]:
    return [demo.NO_CLASS, *dataset_info(dataset).class_names]


