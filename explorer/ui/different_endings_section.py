"""The "Same start, different endings" section of the Remove-noise tab: widgets and events around
``explorer.demos.different_endings.different_endings``.

Owns: the section's layout (plain lesson text, a predict-then-reveal question answered once the rows are
made, the first seed and, closed, what the rows show, beside the grid of six rows and the chart of how
alike the guesses are), and its event. The public endpoint ``/different_endings`` takes (dataset,
class_name, first_seed), all with defaults; the class is the tab's class list. It runs in the
concurrency group "model".
Does not know: the maths (the demo does it).
"""

from __future__ import annotations

import gradio as gr

from explorer.checks import MAX_SEED
from explorer.demos import different_endings as demo
from explorer.server import estimates, serving
from explorer.ui import common, predict_reveal

SECTION_ID = "different-endings"
RUN = f"Make {demo.ROWS} pictures"  # the button's label
GRID_LABEL = "Rows: seeds · columns: guesses, then final"  # one line on a phone: it lies over the picture
CAPTION = (f"**Same start, different endings:** {demo.ROWS} pictures of one class, each row from its own static, "
           "with the same settings.")
LESSON = f"""
### Same start, different endings: where variety comes from
{demo.ROWS} pictures of the same class, each row from its own static (its own seed), all with the same
settings. The columns show the network's **guess of the clean picture** at steps
{", ".join(str(s) for s in demo.SHOWN_STEPS)}, and the final picture.

- **The chart** measures how alike each step's guess is to the row's own final picture, and to the other
  rows.
"""
WHY = """
- **At step 1 the rows are nearly the same blur:** from pure static the network can only guess what the
  class looks like on average.
- **Then the rows part ways:** small differences in the static grow, step by step, into different
  pictures. Nothing chose them in advance.
- **The chart** shows it: each step's guess grows more like the row's own final picture, and less like
  the other rows.
"""


def build(dataset_radio: gr.Radio, class_name: gr.Dropdown) -> None:
    """The section, inside the current Blocks context; ``class_name`` is the tab's class list."""
    first = demo.different_endings()  # the defaults: the section opens filled in (cached once per process)
    with gr.Row(elem_id=SECTION_ID):
        with gr.Column(scale=2, min_width=300):
            gr.Markdown(CAPTION, elem_classes=[common.CAPTION])
            common.notes(LESSON)
            asked = predict_reveal.question(
                "Two statics, one class: will the first guesses (step 1) differ?",
                ["Yes, clearly", "No, they are nearly the same"], "No, they are nearly the same",
                "From pure static there is nothing to go on but the class, so the first guess is roughly the "
                "class's average look, whatever the static. The rows only part ways later, as each row's own "
                "static is turned into details: the variety comes from the starting static.",
                action=predict_reveal.press(RUN))
            first_seed = gr.Number(0, precision=0, minimum=0, maximum=MAX_SEED - demo.ROWS + 1,
                                   label="First seed")
            run = gr.Button(RUN, variant="primary")
            predict_reveal.why(WHY)
        with gr.Column(scale=3, min_width=300):
            grid = common.image_output(GRID_LABEL,
                                       value=first.grid)
            summary = gr.Markdown(_summary(first, measured=False))
            chart = gr.Plot(first.figure, label="When is the picture decided?", show_label=False)
    made = gr.on([run.click, first_seed.submit], serving.gpu(_endings), inputs=[dataset_radio, class_name, first_seed],
                 outputs=[grid, summary, chart], api_name="different_endings", concurrency_id=serving.MODEL_GROUP,
                 concurrency_limit=serving.QUICK_CONCURRENCY, trigger_mode="always_last")
    estimates.declare_units("different_endings", seeds=[first_seed])
    asked.reveal_after(made)
    asked.covers(grid, chart)


def _endings(dataset: str = "fashion", class_name: str | None = None, first_seed: int = 0) -> tuple:
    with common.user_errors():
        result = demo.different_endings(dataset, class_name, first_seed)
    return result.grid, _summary(result), result.figure


def _summary(result: demo.EndingsResult, measured: bool = True) -> str:
    """What was made and, for a student's own run (``measured``), how alike the rows' guesses are."""
    made = ("Answered from the cache: made before." if result.cached else
            f"Made in one batched run of {len(result.seeds)} pictures.")
    found = (f"How alike the rows' guesses are (1 = the same picture): **{result.alikeness[0]:.2f}** at step 1, "
             f"**{result.alikeness[-1]:.2f}** at the last step." if measured
             else predict_reveal.held_back())
    made = made if measured else ""
    return f"**{result.class_name}**, seeds {result.seeds[0]}–{result.seeds[-1]}, {result.steps} steps. {made} {found}"
