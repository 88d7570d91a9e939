"""The "Guidance" tab: widgets and event wiring around ``explorer.demos.guidance.guidance_grid``.

Owns: the layout of the tab (lesson text beside the controls: prompt, class, the scales to compare,
seeds, sampler, steps, the step whose steering signal is shown; outputs: the grid of pictures, the
judge's numbers per scale, the trade-off chart, the steering signal ε_c − ε_u), and its events. The
public endpoint ``/guidance_grid`` takes (dataset, prompt, class_name, scales, seeds, first_seed,
step_to_show, sampler, steps), all with defaults; it shares the concurrency group "model" with every
heavy model event of the app (explorer.serving sets its limit and wraps it for ZeroGPU). Making a grid
brings it into view (on a phone it is below the controls); choosing another step does not move the
page (its picture is beside the slider) and is answered from the demo's cache.
Does not know: the maths (the demo does it) or how prompts are matched (explorer.prompts does it).
"""

from __future__ import annotations

import gradio as gr

from explorer.ui import serving
from explorer.demos import guidance as demo
from explorer.sampling import DEFAULTS, MAX_SEED
from explorer.prompts import MAX_PROMPT_CHARS
from explorer.ui import common

LESSON = """
### Guidance: how hard the prompt pushes
At **every** denoising step the network predicts the noise twice: once told the class (ε_c) and once
with the class left out (ε_u). Their difference ε_c − ε_u points towards "more like this class".
The sampler uses

**ε = ε_u + s · (ε_c − ε_u)**

- **The prompt steers every step**, not only the start. Each row of the grid starts from the same
  static; only the guidance scale s changes from column to column.
- **s = 0** ignores the class (the unconditional model), **s = 1** is the plain conditional model,
  **s > 1** pushes harder than the model learned.
- **The trade-off:** a larger s makes the class clearer (the judge recognises it more often) but the
  pictures of one class more alike, and very large s makes them harsh. The chart measures both.
- Some papers and code write w = s − 1 (their w = 0 is our s = 1).
"""
GRID_ID = "guidance-grid"  # elem_id of the grid of pictures
SAMPLER_CHOICES = [("DPM-Solver++", "dpm++"), ("DDIM (η = 0)", "ddim")]


def build(dataset_radio: gr.Radio) -> None:
    """Create the tab's content inside the current ``gr.Tab`` and wire its events."""
    with gr.Row():
        with gr.Column(scale=2, min_width=300):
            gr.Markdown(LESSON)
            prompt = gr.Textbox("", label="Prompt (press Enter to make the grid)", max_length=MAX_PROMPT_CHARS,
                                placeholder="e.g. a sneaker, the number 7")
            class_name = common.class_dropdown(dataset_radio, "guidance_dataset",
                                               label="Class (used when the prompt names none)")
            scales = gr.Textbox(demo.DEFAULT_SCALES, max_length=200,
                                label=f"Guidance scales s, one column each (up to {demo.MAX_SCALES})")
            seeds = gr.Slider(1, demo.MAX_SEEDS, value=demo.DEFAULT_SEEDS, step=1,
                              label="Rows: how many different statics (seeds)")
            first_seed = gr.Number(0, precision=0, minimum=0, maximum=MAX_SEED, label="First seed")
            sampler = gr.Radio(SAMPLER_CHOICES, value=DEFAULTS.sampler, label="Sampler",
                               info="deterministic, so a row differs only by the guidance")
            steps = gr.Slider(1, demo.MAX_GRID_STEPS, value=DEFAULTS.steps, step=1, label="Steps")
            run = gr.Button("Make the grid", variant="primary")
        with gr.Column(scale=3, min_width=300):
            grid = common.image_output("Rows: seeds (the same static across a row). Columns: guidance scale s",
                                       elem_id=GRID_ID)
            summary = gr.Markdown("Press **Make the grid**: every picture of a row starts from the same static.")
            table = gr.Markdown()
            tradeoff = gr.Plot(label="Recognition and variety against the guidance scale", show_label=False)
            sweep_note = gr.Markdown()
    gr.Markdown("### The steering signal, made visible")
    with gr.Row():
        with gr.Column(scale=2, min_width=300):
            step_to_show = gr.Slider(0, demo.MAX_GRID_STEPS, value=0, step=1,
                                     label="Show the noise predictions at step… (0 = the middle step)")
            steering_text = gr.Markdown()
        with gr.Column(scale=3, min_width=300):
            steering = common.image_output("First seed: ε_u (no class), ε_c (with the class), their difference")

    inputs = [dataset_radio, prompt, class_name, scales, seeds, first_seed, step_to_show, sampler, steps]
    outputs = [grid, summary, table, tradeoff, sweep_note, steering, steering_text, step_to_show]
    gr.on([run.click, prompt.submit, scales.submit, seeds.release, steps.release, step_to_show.release],
          serving.gpu(_grid), inputs=inputs, outputs=outputs, api_name="guidance_grid",
          concurrency_id=serving.MODEL_GROUP, concurrency_limit=serving.MODEL_CONCURRENCY, trigger_mode="always_last")
    common.reveal([run.click, prompt.submit, scales.submit, seeds.release, steps.release], GRID_ID)


# ----------------------------------------------------------------------------- event handlers

def _grid(dataset: str, prompt: str, class_name: str, scales: str, seeds: int, first_seed: int,
          step_to_show: int, sampler: str, steps: int) -> tuple:
    """The grid and everything about it."""
    with common.user_errors():
        result = demo.guidance_grid(dataset, prompt, class_name, scales, seeds, first_seed, step_to_show,
                                    sampler, steps)
    return (result.grid, _summary(result), _table(result), result.tradeoff_figure, result.sweep_note,
            result.steering, _steering_text(result),
            gr.Slider(maximum=result.steps, value=result.step_shown))


# ----------------------------------------------------------------------------- presentation

def _summary(result: demo.GuidanceResult) -> str:
    seeds = f"seed {result.seeds[0]}" if len(result.seeds) == 1 else f"seeds {result.seeds[0]}–{result.seeds[-1]}"
    made = ("Answered from the cache: this grid was made before." if result.cached else
            f"Made in {result.seconds:.1f} s: {result.network_calls} network calls, each with all "
            f"{result.images.shape[0] * result.images.shape[1]} pictures and both branches (ε_c and ε_u).")
    return (f"**What was drawn:** {result.mapping}\n\n"
            f"Rows: {seeds}, top to bottom. Columns: s = {', '.join(f'{s:g}' for s in result.scales)}. "
            f"{result.steps} steps of {dict((v, n) for n, v in SAMPLER_CHOICES)[result.sampler]}. {made}")


def _table(result: demo.GuidanceResult) -> str:
    header = ("| guidance s | recognised by the judge | variety vs real pictures |\n"
              "|---|---|---|\n")
    rows = "\n".join(f"| {' | '.join(row)} |" for row in result.table)
    return (header + rows + f"\n\nVariety = how different the {result.class_name} pictures of a column are, "
            "seen by the judge; 1 = as varied as real pictures of the class.")


def _steering_text(result: demo.GuidanceResult) -> str:
    return (f"**Step {result.step_shown} of {result.steps}** (t = {result.t_shown}), first seed, one column per "
            f"scale. Top: ε_u, the noise the network predicts without the class. Middle: ε_c, with the class "
            f"(both shown as ε/3, grey = 0). Bottom: **ε_c − ε_u**, the steering signal, brightened "
            f"×{result.difference_gain:.2g} to be visible: it often shows the outline of the class.\n\n"
            f"The sampler uses **{result.formula}**, with s = the column's scale. {result.w_note}")
