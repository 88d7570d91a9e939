"""The "Watch it learn" section of the Add-noise tab: widgets and events around
``explorer.demos.watch_it_learn.watch_it_learn``.

Owns: the section's layout (one caption sentence; a real picture's number, k and the seed; a predict-then-reveal
question, answered once the snapshots have been asked, whose grid stays blurred until a guess is picked; the lesson
and its "why" in closed sections; the outputs: what every snapshot is shown, the grid — a column per snapshot,
untrained on the left, and a row for each of its guess of the static, the difference from the real static, the
clean picture worked out from the guess and its own picture from pure static —, the errors in words and the
training-loss chart with the snapshots marked), and its event. The public endpoint ``/watch_it_learn`` takes
(gallery_index, k, seed), all with defaults, and runs in the concurrency group "model"; the opening is made in the
background at start (explorer.server.openings).
Links: the section's settings travel in the Add-noise tab's links as ``learn_picture``, ``learn_k`` and
``learn_seed`` (explorer.ui.links: bad values left out with a note); a link naming any of them presses the
section's button once its opening is on the page. On a phone, a run scrolls its pictures into view.
Does not know: the maths (the demo does it) or how the snapshots were trained.
"""

from __future__ import annotations

import gradio as gr
import plotly.graph_objects as go

from explorer.checks import MAX_SEED
from explorer.demos import watch_it_learn as demo
from explorer.server import estimates, openings, serving
from explorer.ui import common, links, predict_reveal

SECTION_ID = "watch-it-learn"
RESULTS_ID = "watch-it-learn-results"  # the pictures' column: a run on a phone scrolls it into view
RUN_ID = "watch-it-learn-run"
GRID_ID = "watch-it-learn-grid"  # the grid: the opening has come once it shows a picture
RUN = "Ask every snapshot"  # the button's label
GRID_LABEL = "Before, during and after training"  # the columns, left to right
CAPTION = ("**Watch it learn:** the same noisy picture shown to one small network before, during and after its "
           "training.")
LESSON = """
### Watch it learn
A small network was trained for six minutes on the Fashion pictures, and its weights were saved along the way:
before any training, and after 5 %, 10 % and 100 % of the run. Each column is one of those saved networks, shown
the **same noisy picture**, and asked to guess the static in it; over each column, how far its guess is off.

- **Rows:** its guess of the static; the guess minus the real static (grey = no mistake); the clean picture
  worked out from its guess; and the picture it makes by itself from pure static (the same seed for every
  column).
- **The chart:** the training loss along the run, with the saved points marked. The loss only ever scores the
  guess of the static.
- This network is smaller and trained far shorter than the one the other tabs use, so even its last column is
  rougher than theirs.
"""
WHY = """
- **Untrained, it knows nothing:** its guess of the static is just the noisy picture itself, faded — it cannot
  tell the picture from the static, so the difference row shows the whole picture as a mistake, and the
  picture it makes from pure static is no picture at all.
- **Training improves the guess:** the error falls column by column, and the pictures it makes start to look like
  clothes. Nothing else was trained: only, over and over, "guess the static we added".
"""


def build() -> None:
    """The section, inside the current Blocks context (the Add-noise tab)."""
    with gr.Row(elem_id=SECTION_ID):
        with gr.Column(scale=2, min_width=300):
            gr.Markdown(CAPTION, elem_classes=[common.CAPTION])
            index = gr.Slider(0, common.gallery_size(demo.DATASET) - 1, value=0, step=1,
                              label="Picture number")
            k = gr.Slider(1, 1000, value=demo.DEFAULT_K, step=1, label="k: noising steps (1000 = pure static)")
            seed = gr.Number(0, precision=0, minimum=0, maximum=MAX_SEED, label="Which static (seed)")
            run = gr.Button(RUN, variant="primary", elem_id=RUN_ID)
            asked = predict_reveal.question(
                "Before any training, what does the network's guess of the static look like?",
                ["Already close to the real static", "Far off: it cannot tell the picture from the static"],
                "Far off: it cannot tell the picture from the static",
                "An untrained network cannot tell the picture from the static: its guess is just the noisy picture, "
                "faded, and what it makes from pure static is no picture. Only training on \"guess the static\" "
                "makes the guess better.",
                action=predict_reveal.press(RUN))
            predict_reveal.why(WHY)
            common.notes(LESSON)
        with gr.Column(scale=3, min_width=300, elem_id=RESULTS_ID):
            shown = common.image_output("What every snapshot is shown")
            grid = common.image_output(GRID_LABEL, elem_id=GRID_ID)
            numbers = gr.Markdown("")
            chart = gr.Plot(label="The training loss", show_label=False)
    settings = [("learn_picture", index, links.Whole(0, common.gallery_size(demo.DATASET) - 1)),
                ("learn_k", k, links.Whole(1, 1000)), ("learn_seed", seed, links.Whole(0, MAX_SEED))]
    for name, widget, kind in settings:
        links.setting(name, widget, kind)
    links.press_when_linked(run, [name for name, _, _ in settings], after=f"#{GRID_ID} img")
    outputs = [shown, grid, numbers, chart]
    asked.covers(grid)
    triggers = [run.click, k.release, seed.submit]
    made = gr.on(triggers, serving.gpu(_learn), inputs=[index, k, seed], outputs=outputs,
                 api_name="watch_it_learn", concurrency_id=serving.MODEL_GROUP,
                 concurrency_limit=serving.QUICK_CONCURRENCY, trigger_mode="always_last")
    estimates.declare_units("watch_it_learn", seeds=[seed])
    asked.reveal_after(made)
    common.reveal(triggers, RESULTS_ID)
    openings.fill(outputs, lambda: _outputs(demo.watch_it_learn(), measured=False), api_name="watch_it_learn_opening")


def _learn(gallery_index: int = 0, k: int = demo.DEFAULT_K, seed: int = 0) -> tuple:
    with common.user_errors():
        return _outputs(demo.watch_it_learn(gallery_index, k, seed))


def _outputs(result: demo.LearnResult, measured: bool = True) -> tuple:
    return result.shown, result.grid, _numbers(result, measured), _chart(result.loss_figure)


def _chart(figure: go.Figure) -> go.Figure:
    """The loss chart with its snapshots' names readable: none cut off at the plot's edge (the first sits at the
    top of the plot), the last one's to the left of its point (it sits at the right edge)."""
    figure = go.Figure(figure)  # a copy: the demo's result is cached
    for trace in figure.data:
        if trace.name == "snapshots" and trace.x is not None:
            trace.update(cliponaxis=False, textposition=["top right"] * (len(trace.x) - 1) + ["top left"])
    return figure


def _numbers(result: demo.LearnResult, measured: bool = True) -> str:
    """What was asked and, for a student's own run (``measured``), how far off each snapshot's guess is."""
    errors = ", ".join(f"{name} **{error:.2f}**" for name, error in zip(result.snapshot_names, result.errors))
    found = (f"How far each guess of the static is off, per pixel (the static itself: about 1): {errors}."
             if measured else predict_reveal.held_back())
    again = " Answered from the cache." if result.cached and measured else ""
    return f"**k = {result.k}**, {result.picture}, seed {result.seed}. {found}{again}"
