"""The "Guidance" tab: widgets and event wiring around ``explorer.demos.guidance.guidance_grid``.

Owns: the layout of the tab (plain lesson text beside the controls: prompt, class, the scales to
compare, seeds, "guide every step", steps, the sampler under "Advanced", the step whose steering
signal is shown; the sentence saying on which steps guidance applies, read from the model and
following the dataset switch; outputs: the grid of pictures, the judge's numbers per scale, the
trade-off chart, the steering signal; formulas and symbols only in the closed "The maths" sections;
two predict-then-reveal questions under the button, answered by a new grid, and what the grid shows in
a closed "why" section after them), and its events. The
public endpoint ``/guidance_grid`` takes (dataset, prompt, class_name, scales, seeds, first_seed,
step_to_show, sampler, steps, guide_every_step), all with defaults; it runs in the concurrency group for
many-picture requests, ``serving.LONG_MODEL_GROUP`` (explorer.server.serving sets its limit and wraps it for
ZeroGPU). Making a grid brings it into view (on a phone it is below the controls); choosing another
step does not move the page (its picture is beside the slider) and is answered from the demo's cache.
Does not know: the maths (the demo does it) or how prompts are matched (explorer.prompts does it).
"""

from __future__ import annotations

import gradio as gr

from explorer.checks import MAX_SEED
from explorer.demos import guidance as demo
from explorer.prompts import MAX_PROMPT_CHARS
from explorer.sampling import DEFAULTS
from explorer.server import estimates, openings, serving
from explorer.ui import common, links, predict_reveal

CAPTION = "**Guidance:** from left to right, each column pushes the same static harder towards the class (s)."
LESSON = """
### Guidance: how hard the prompt pushes
At every step of this grid the network guesses the static in the picture twice: once **told the
class**, once **told nothing**. The difference between the two guesses points towards "more like this class".
The **guidance scale s** says how far to follow that difference.

- **s = 0** ignores the class, **s = 1** follows the model as it was trained, **s above 1** pushes harder.
- **Between 0 and 1** the class takes over a little more in each column: the opening grid shows it.
- Each row starts from its own static; along a row only s changes.
- The table and the chart measure, for each s, how often the judge (a separate network that only names
  the class of a picture) recognises the class, and how varied the pictures of a column are.
"""
WHY = """
- **The static decides the shape, the prompt only steers it.**
- **Pushing harder** makes the class clearer (the judge recognises it more often) but the pictures of a
  column more alike, and very large s makes them harsh.
- **The noisiest steps:** measurements in the model cards show that pushing there costs variety. That is
  why s above 1 is used only on some steps (the sentence under the lesson says which), unless *Guide
  every step* is ticked.
"""
ADVANCED = """Three recipes exist for taking the steps from static to picture (DDPM, DDIM and
DPM-Solver++). Here you can pick one of the two that add no fresh randomness along the way (for DDIM
that is the setting η = 0), so a row differs only by the guidance scale."""
STEERING_CAPTION = ("**What the push looks like:** the network's guess told nothing, told the class, and the "
                    "difference between them.")
STEERING_LESSON = """
### What the push looks like
Below: for the first row's static, at one step, what the network guesses **told nothing**, what it
guesses **told the class**, and the **difference** between the two (made brighter so you can see it).
That difference is the push towards the class; it often shows the outline of the class.
"""
MATHS = """
Write ε_u for the noise the network predicts told nothing (the unconditional branch) and ε_c for the
noise it predicts told the class (the conditional branch). The sampler uses

**ε = ε_u + s · (ε_c − ε_u)**

s = 0 gives ε_u (unconditional), s = 1 gives ε_c (the plain conditional model), s > 1 extrapolates
past it. Some papers and code write w = s − 1, so their w = 0 is our s = 1 (and their w = 2 our s = 3).
"""
GRID_ID = "guidance-grid"  # elem_id of the grid of pictures
EVERY_STEP_TRY = "Next: guide every step"  # the closed section of the second experiment
SAMPLER_CHOICES = [("Fast (DPM-Solver++)", "dpm++"), ("Steady (DDIM, no fresh static)", "ddim")]
ROWS_QUESTION = dict(
    prompt="Same prompt, four statics (the rows): will a column show four copies of one picture?",
    choices=["Yes: the prompt decides", "No: each static its own"],
    answer="No: each static its own",
    explanation="The network does not design a picture from the prompt. It cleans up the static it is given, "
                "and the prompt only steers the cleaning: look down any column with s ≥ 1.",
)
EVERY_STEP_QUESTION = dict(
    prompt="Guide every step: will the pictures of a column grow more varied or more alike?",
    choices=["More varied", "More alike", "No change"],
    answer="More alike",
    explanation="The noisiest steps decide the overall shape. Pushing hard there drives every static towards "
                "the same typical shape, so the variety numbers in the table drop for s above 1 (with few "
                "rows the numbers jump about; try 8 rows).",
)


def interval_text(dataset: str) -> str:
    """The tab's sentence on where guidance applies at the default steps, read from ``dataset``'s model."""
    with common.user_errors():
        return demo.interval_sentence(dataset, DEFAULTS.steps)


def build(dataset_radio: gr.Radio) -> None:
    """Create the tab's content inside the current ``gr.Tab`` and wire its events."""
    with gr.Row():
        with gr.Column(scale=2, min_width=300):
            gr.Markdown(CAPTION, elem_classes=[common.CAPTION])
            prompt = gr.Textbox("", label="Prompt", max_length=MAX_PROMPT_CHARS,
                                placeholder="e.g. a sneaker, the number 7")
            run = links.main_button(gr.Button("Make the grid", variant="primary"))
            class_name = common.class_dropdown(dataset_radio, "guidance_dataset",
                                               label="Class")
            scales = gr.Textbox(demo.DEFAULT_SCALES, max_length=200,
                                label="Guidance scales s (one column each)")
            seeds = gr.Slider(1, demo.MAX_SEEDS, value=demo.DEFAULT_SEEDS, step=1,
                              label="Rows (statics)")
            first_seed = gr.Number(0, precision=0, minimum=0, maximum=MAX_SEED, label="First seed")
            with gr.Accordion("Advanced", open=False):
                steps = gr.Slider(1, demo.MAX_GRID_STEPS, value=DEFAULTS.steps, step=1, label="Steps")
                gr.Markdown(ADVANCED)
                sampler = gr.Radio(SAMPLER_CHOICES, value=DEFAULTS.sampler, label="Recipe for the steps (sampler)")
            questions = [predict_reveal.question(**ROWS_QUESTION, action=predict_reveal.press(run.value))]
            with gr.Accordion(EVERY_STEP_TRY, open=False):  # the second experiment, once the grid is understood
                every_step = gr.Checkbox(False, label="Guide every step, the noisiest too")
                questions.append(predict_reveal.question(**EVERY_STEP_QUESTION, action="tick **Guide every step**"))
            predict_reveal.why(WHY)
            with gr.Accordion(common.NOTES_TITLE, open=False, elem_classes=[common.NOTES]):
                gr.Markdown(LESSON)
                where = gr.Markdown(interval_text(common.DEFAULT_DATASET))
                gr.Markdown(MATHS)
        with gr.Column(scale=3, min_width=300):
            grid = common.image_output("Rows: statics · columns: guidance scale s",
                                       elem_id=GRID_ID)
            summary = gr.Markdown("The example grid (the first class, seeds 0–3) is being made…")
            tradeoff = gr.Plot(label="Recognition and variety against the guidance scale", show_label=False)
            with gr.Accordion("The numbers", open=False, elem_classes=[common.NOTES]):
                table = gr.Markdown()
                sweep_note = gr.Markdown()
    gr.Markdown(STEERING_CAPTION, elem_classes=[common.CAPTION])
    common.notes(STEERING_LESSON)
    with gr.Row():
        with gr.Column(scale=2, min_width=300):
            step_to_show = gr.Slider(0, demo.MAX_GRID_STEPS, value=0, step=1,
                                     label="Show the two guesses at step… (0 = the middle step)")
            with gr.Accordion("The maths of this step", open=False):
                steering_text = gr.Markdown()
        with gr.Column(scale=3, min_width=300):
            steering = common.image_output("First static: told nothing, told the class, the difference")

    for name, widget, kind in [("prompt", prompt, links.Text(MAX_PROMPT_CHARS)), ("class", class_name, links.Text(40)),
                               ("scales", scales, links.Text(200)), ("rows", seeds, links.Whole(1, demo.MAX_SEEDS)),
                               ("seed", first_seed, links.Whole(0, MAX_SEED)),
                               ("every_step", every_step, links.Flag()),
                               ("steps", steps, links.Whole(1, demo.MAX_GRID_STEPS))]:
        links.setting(name, widget, kind)
    dataset_radio.change(interval_text, inputs=dataset_radio, outputs=where, api_name="guidance_interval_text",
                         api_visibility="undocumented", show_progress="hidden")
    inputs = [dataset_radio, prompt, class_name, scales, seeds, first_seed, step_to_show, sampler, steps, every_step]
    outputs = [grid, summary, table, tradeoff, sweep_note, steering, steering_text, step_to_show]
    made = gr.on([run.click, prompt.submit, scales.submit, seeds.release, steps.release, step_to_show.release,
                  every_step.input],
                 serving.gpu(_grid), inputs=inputs, outputs=outputs, api_name="guidance_grid",
                 concurrency_id=serving.LONG_MODEL_GROUP, concurrency_limit=serving.LONG_CONCURRENCY,
                 trigger_mode="always_last")
    estimates.declare_units("guidance_grid", lambda scales, seeds, steps, **rest:
                            len(demo.parse_scales(scales)) * float(seeds) * float(steps),  # pictures × steps
                            seeds=[first_seed])
    questions[0].reveal_after(made)
    questions[1].reveal_after(made, when=every_step)  # its answer: a run made with the box ticked
    common.reveal([run.click, prompt.submit, scales.submit, seeds.release, steps.release, every_step.input], GRID_ID)
    openings.fill(outputs, _defaults, api_name="guidance_opening")


def _defaults() -> tuple:
    """The grid's outputs at the tab's defaults (made once, in the background, when the server starts)."""
    return _grid(common.DEFAULT_DATASET, "", None, demo.DEFAULT_SCALES, demo.DEFAULT_SEEDS, 0, 0,
                 DEFAULTS.sampler, DEFAULTS.steps)


# ----------------------------------------------------------------------------- event handlers

def _grid(dataset: str, prompt: str, class_name: str, scales: str, seeds: int, first_seed: int,
          step_to_show: int, sampler: str, steps: int, guide_every_step: bool = False) -> tuple:
    """The grid and everything about it."""
    with common.user_errors():
        result = demo.guidance_grid(dataset, prompt, class_name, scales, seeds, first_seed, step_to_show,
                                    sampler, steps, guide_every_step)
    return (result.grid, _summary(result), _table(result), result.tradeoff_figure, result.sweep_note,
            result.steering, _steering_text(result),
            gr.Slider(maximum=result.steps, value=result.step_shown))


# ----------------------------------------------------------------------------- presentation

def _summary(result: demo.GuidanceResult) -> str:
    seeds = f"seed {result.seeds[0]}" if len(result.seeds) == 1 else f"seeds {result.seeds[0]}–{result.seeds[-1]}"
    made = "Answered from the cache." if result.cached else f"Made in {result.seconds:.1f} s."
    return (f"**What was drawn:** {result.mapping}\n\n"
            f"Rows: {seeds}. Columns: s = {', '.join(f'{s:g}' for s in result.scales)}. {made}")


def _computed(result: demo.GuidanceResult) -> str:
    """How the grid was computed (for the closed numbers section): steps, recipe, calls and guesses."""
    pictures = result.images.shape[0] * result.images.shape[1]
    recipe = dict((v, n) for n, v in SAMPLER_CHOICES)[result.sampler]
    return (f"{result.steps} steps, {recipe}. {result.network_calls} network calls, {result.guesses} guesses in all "
            f"rather than {pictures} pictures × 2 guesses × {result.steps} steps = {2 * pictures * result.steps}: "
            "a picture is guessed only the ways its scale needs (s = 0: told nothing; s = 1: told the class), and "
            "pictures that are still the same (a row's columns share one static until the push on them first "
            "differs) are guessed once.")


def _table(result: demo.GuidanceResult) -> str:
    header = ("| guidance s | recognised by the judge | variety (real pictures = 1) |\n"
              "|---|---|---|\n")
    rows = "\n".join(f"| {' | '.join(row)} |" for row in result.table)
    return (header + rows + "\n\nVariety = how different the "
            f"{result.class_name} pictures of a column are, as the judge sees them; 1 = as varied as real pictures "
            f"of the class.\n\n{result.interval_note}\n\n{_computed(result)}")


def _steering_text(result: demo.GuidanceResult) -> str:
    where = ("inside" if result.step_shown in result.guided_steps else "outside")
    interval = ("every step" if result.interval is None
                else f"{result.interval[0]} ≤ t ≤ {result.interval[1]}")
    return (f"**Step {result.step_shown} of {result.steps}** (t = {result.t_shown}: t counts the noising steps "
            f"still in the picture, 999 = almost pure static, 0 = clean), first seed, one column per scale. Top: ε_u, "
            f"the noise the network predicts told nothing. Middle: ε_c, told the class (both shown as ε/3, "
            f"grey = 0). Bottom: **ε_c − ε_u**, the steering signal, brightened ×{result.difference_gain:.2g}.\n\n"
            f"The sampler uses **{result.formula}**, with s = the column's scale where guidance applies "
            f"({interval}; this step is {where}) and min(s, 1) elsewhere. {result.w_note}")
