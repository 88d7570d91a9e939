"""The "Switch the prompt mid-run" section of the Remove-noise tab: widgets and events around
``explorer.demos.switch_prompt.switch_prompt``.

Owns: the section's layout (plain lesson text, a predict-then-reveal question answered once the runs are
made, the two classes, the seed and, closed, what the runs show, beside one strip per switch step and
the judge's chart), and its events. The public endpoint ``/switch_prompt`` takes (dataset, first_class,
second_class, seed), all with defaults; it runs in the concurrency group "model". Switching the dataset
puts that dataset's default pair in the two lists.
Does not know: the maths (the demo does it).
"""

from __future__ import annotations

import gradio as gr

from explorer.checks import MAX_SEED
from explorer.data import dataset_info
from explorer.demos import switch_prompt as demo
from explorer.server import estimates, serving
from explorer.ui import common, predict_reveal

SECTION_ID = "switch-prompt"
RUN = "Switch and compare"  # the button's label
GRID_LABEL = "Rows: when it switched · columns: guesses, final"  # one line on a phone: it lies over the picture
CAPTION = ("**Switch the prompt mid-run:** one static, told one class and then another part way through "
           "the steps.")
LESSON = f"""
### Switch the prompt mid-run: nothing is planned
One static, {len(demo.SWITCHES)} runs of {{steps}} steps. Each run is told the **first class** until its
switch, then the **second class**. The top row is told the second class from the start; the bottom row
never switches. Each strip shows the network's guess of the clean picture at a few steps, then the final
picture.

- **The chart:** the judge's probability of each class for every step's guess (solid: the second class,
  dotted: the first), one colour per run.
"""
WHY = """
- **Switch early:** the second class comes out. Nothing had been decided yet.
- **Switch late:** the rough outline of the first class is already there; the new prompt can only
  change details.
- So the prompt is read at **every** step, and nothing is designed up front.
"""


def build(dataset_radio: gr.Radio) -> None:
    """The section, inside the current Blocks context."""
    first = demo.switch_prompt()  # the defaults: the section opens filled in (cached once per process)
    classes = list(dataset_info(common.DEFAULT_DATASET).class_names)
    with gr.Row(elem_id=SECTION_ID):
        with gr.Column(scale=2, min_width=300):
            gr.Markdown(CAPTION, elem_classes=[common.CAPTION])
            common.notes(LESSON.format(steps=first.steps))
            asked = predict_reveal.question(
                f"Switched to another class after step 15 of {first.steps}: which class comes out?",
                ["The first class", "The second class", "Half of each"], "The first class",
                "By step 15 the outline is settled and the last steps only add fine detail, so the first class "
                "stays. Switch early (the top rows) and the second class wins: the prompt steers every step, "
                "and the network never had a plan to stick to.", action=predict_reveal.press(RUN))
            with gr.Row():
                first_class = gr.Dropdown(classes, value=first.first_name, allow_custom_value=True,
                                          label="First class")
                second_class = gr.Dropdown(classes, value=first.second_name, allow_custom_value=True,
                                           label="Then switch to")
            seed = gr.Number(0, precision=0, minimum=0, maximum=MAX_SEED,
                             label="One static for all runs (seed)")
            run = gr.Button(RUN, variant="primary")
            predict_reveal.why(WHY)
        with gr.Column(scale=3, min_width=300):
            grid = common.image_output(GRID_LABEL, value=first.grid)
            summary = gr.Markdown(_summary(first, measured=False))
            chart = gr.Plot(first.figure, label="The judge along the steps", show_label=False)
    switched = gr.on([run.click, seed.submit], serving.gpu(_switch),
                     inputs=[dataset_radio, first_class, second_class, seed], outputs=[grid, summary, chart],
                     api_name="switch_prompt", concurrency_id=serving.MODEL_GROUP,
                     concurrency_limit=serving.QUICK_CONCURRENCY, trigger_mode="always_last")
    estimates.declare_units("switch_prompt", seeds=[seed])
    asked.reveal_after(switched)
    asked.covers(grid, chart)
    dataset_radio.change(_pair_of, inputs=dataset_radio, outputs=[first_class, second_class],
                         api_name="switch_prompt_dataset", api_visibility="undocumented", show_progress="hidden")


def _switch(dataset: str = "fashion", first_class: str | None = None, second_class: str | None = None,
            seed: int = 0) -> tuple:
    with common.user_errors():
        result = demo.switch_prompt(dataset, first_class, second_class, seed)
    return result.grid, _summary(result), result.figure


def _pair_of(dataset: str) -> tuple[gr.Dropdown, gr.Dropdown]:
    """The class lists of ``dataset``, with its default pair chosen."""
    with common.user_errors():
        info = dataset_info(dataset)
    first, second = demo.DEFAULT_PAIRS[info.key]
    return (gr.Dropdown(choices=list(info.class_names), value=first),
            gr.Dropdown(choices=list(info.class_names), value=second))


def _summary(result: demo.SwitchResult, measured: bool = True) -> str:
    """What was made and, for a student's own run (``measured``), the class the judge names for each."""
    verdicts = ", ".join(f"{_when(switch)} → **{name}**"
                         for switch, name in zip(result.switches, result.final_classes))
    made = ("Answered from the cache: made before." if result.cached else
            f"All {len(result.switches)} runs in one batch, one network call per step.")
    found = (f"The judge names each final picture: {verdicts}." if measured
             else predict_reveal.held_back())
    made = made if measured else ""
    return f"**{result.first_name}**, then **{result.second_name}**, seed {result.seed}. {made} {found}"


def _when(switch: int | None) -> str:
    if switch is demo.NEVER:
        return "never switched"
    return "switched from the start" if switch == 0 else f"switched after step {switch}"
