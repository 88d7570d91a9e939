"""The "Remove noise" tab: widgets and event wiring around ``explorer.demos.remove_noise.remove_noise_stream``.

Owns: the layout of the tab (lesson text beside the controls: prompt, class, seed with "New static",
sampler, steps, guidance, η; outputs: x_t and x̂0 live while the model runs, then with the
predicted noise scrubbable step by step, the judge's confidence chart, one jump vs many steps, what the
prompt meant, downloads), and its events. The public endpoint ``/generate`` streams and takes
(dataset, prompt, class_name, seed, sampler, steps, guidance, eta), all with defaults; it shares
the concurrency group "model" (limit 1) with every heavy model event, as do "New static" and the
examples, which run as soon as they are clicked; each of them scrolls the page to the outputs when
none of them is on screen (on a phone they sit below the controls). Sliders and number boxes leave
an API caller's out-of-range value to the demo's validators (``common.leave_ranges_to_validators``),
so the error names the setting and its allowed range. While the model runs, a handful of frames
show x_t, x̂0 and the step counter (the other outputs are emptied and the slider locked);
everything else comes once, with the finished run. The finished run lives in per-browser state, so
scrubbing through the steps never calls the model.
Does not know: the maths (the demo does it) or how prompts are matched (explorer.prompts does it).
"""

from __future__ import annotations

import random

import gradio as gr

from explorer.ui import serving
from explorer.demos import remove_noise
from explorer.sampling import DEFAULTS, MAX_SEED
from explorer.guidance import MAX_GUIDANCE
from explorer.prompts import MAX_PROMPT_CHARS
from explorer.ui import common

LESSON = """
### Removing noise, one small step at a time
The model starts from **pure static** (random noise). At every step the network looks at the noisy
picture x_t and **predicts the noise** in it; the sampler removes a little of that noise and moves on.

- **Many small steps, not one pass.** The network's guess of the clean picture x̂0 straight from the
  static is only a rough, blotchy guess (the average of many plausible pictures): compare it with the
  final picture below, where the steps have added the detail.
- **The network does not plan a picture.** At each step it renders what is plausible for the class,
  given the noise it sees. Other static (another seed) gives another picture.
- **The noise is the method.** Training added noise to real pictures ("Add noise" tab); making a
  picture runs that backwards.
- **Guidance s** steers towards the class: s = 0 ignores the prompt, s = 1 is the plain conditional
  model, s > 1 pushes harder. (Some papers write w = s − 1.)
- **The prompt** is matched to one of the 10 classes the model knows; anything else runs unconditionally.
"""
SAMPLER_CHOICES = [("DDPM", "ddpm"), ("DDIM", "ddim"), ("DPM-Solver++", "dpm++")]
SAMPLER_NAMES = {value: name for name, value in SAMPLER_CHOICES}
SAMPLER_INFO = ("DDPM adds fresh noise at every step (needs many steps); DDIM is deterministic at η = 0; "
                "DPM-Solver++ is a smarter solver that needs only ~20 steps.")
EXAMPLES = [["fashion", "a sneaker"], ["fashion", "an ankle boot"], ["fashion", "a horse"],
            ["mnist", "the number 7"], ["mnist", "three"]]
NEW_SEED_MAX = 999_999  # "New static" seeds stay short enough to read out and type
RESULTS_ID = "generate-results"  # elem_id of the column of outputs


def build(dataset_radio: gr.Radio) -> None:
    """Create the tab's content inside the current ``gr.Tab`` and wire its events."""
    with gr.Row():
        with gr.Column(scale=2, min_width=300):
            gr.Markdown(LESSON)
            prompt = gr.Textbox("", label="Prompt (press Enter to make it)", max_length=MAX_PROMPT_CHARS,
                                placeholder="e.g. a sneaker, an ankle boot, the number 7")
            class_name = common.class_dropdown(dataset_radio, "generate_dataset",
                                               label="Class (used when the prompt is empty)")
            with gr.Row():
                seed = gr.Number(0, precision=0, minimum=0, maximum=MAX_SEED, scale=3,
                                    label="Seed: which static to start from (same seed and settings = same picture)")
                new_static = gr.Button("New static", scale=1)
            sampler = gr.Radio(SAMPLER_CHOICES, value=DEFAULTS.sampler, label="Sampler", info=SAMPLER_INFO)
            steps = gr.Slider(1, 1000, value=DEFAULTS.steps, step=1, label="Steps")
            guidance = gr.Slider(0, MAX_GUIDANCE, value=DEFAULTS.guidance, step=0.5,
                                    label="Guidance s (0 = ignore the prompt, 1 = plain conditional, >1 pushes harder)")
            eta = gr.Slider(0, 1, value=DEFAULTS.eta, step=0.1,
                                label="η (eta): only DDIM uses it (0 = no fresh noise, 1 = as much as DDPM)")
            run = gr.Button("Generate", variant="primary")
            examples = gr.Examples(EXAMPLES, inputs=[dataset_radio, prompt], label="Try (click one)")
        with gr.Column(scale=3, min_width=300, elem_id=RESULTS_ID):
            outputs = _output_widgets()
    x_t_image, x0_image, noise_image, status, scrub = outputs[:5]
    trajectory = outputs[-1]

    inputs = [dataset_radio, prompt, class_name, seed, sampler, steps, guidance, eta]
    model_event = dict(fn=serving.gpu(_remove_noise), inputs=inputs, outputs=outputs, concurrency_id=serving.MODEL_GROUP,
                       concurrency_limit=serving.MODEL_CONCURRENCY)
    triggers = [run.click, prompt.submit, seed.submit, steps.release, guidance.release, eta.release]
    gr.on(triggers, **model_event, api_name="generate", trigger_mode="always_last")
    new_static.click(_new_seed, outputs=seed, api_name="new_seed", api_visibility="undocumented",
                     queue=False).then(**model_event, api_name="generate_new_static", api_visibility="undocumented")
    examples.load_input_event.then(**model_event, api_name="generate_example", api_visibility="undocumented")
    common.reveal([*triggers, new_static.click, examples.dataset.click], RESULTS_ID)
    scrub.input(_scrub, inputs=[trajectory, scrub], outputs=[x_t_image, x0_image, noise_image, status],
                api_name="generate_scrub", api_visibility="undocumented", trigger_mode="always_last",
                show_progress="hidden")


def _output_widgets() -> list:
    """The tab's outputs, in the order ``_remove_noise`` fills them; the last one is the run's state."""
    with gr.Row():
        x_t_image = common.image_output("x_t: the picture going into this step")
        x0_image = common.image_output("x̂0: the network's guess of the clean picture")
        noise_image = common.image_output("the noise it predicts, ε (grey = 0)")
    status = gr.Markdown("Press **Generate** to make a picture from pure static.", label="step")
    scrub = gr.Slider(1, DEFAULTS.steps, value=DEFAULTS.steps, step=1, interactive=False,
                          label="Look at step… (1 = pure static; available when the picture is done)")
    mapping = gr.Markdown(label="what was drawn")
    confidence = gr.Plot(label="The judge's confidence at each step", show_label=False)
    gr.Markdown("### One jump, or many small steps?")
    comparison = common.image_output("left: x̂0 from pure static in one network call; right: the final picture")
    files = gr.File(label="Download: the steps as a GIF and a PNG strip", file_count="multiple",
                    interactive=False)
    trajectory = gr.State(None)  # the finished remove_noise.ReverseResult, for scrubbing
    return [x_t_image, x0_image, noise_image, status, scrub, mapping, confidence, comparison, files, trajectory]


# ----------------------------------------------------------------------------- event handlers

def _remove_noise(dataset: str, prompt: str, class_name: str, seed: int, sampler: str, steps: int,
              guidance: float, eta: float, progress=gr.Progress()):
    """Stream x_t, x̂0 and the predicted noise while the model runs; then every output."""
    with common.user_errors():
        for item in remove_noise.remove_noise_stream(dataset, prompt, class_name, seed, sampler, steps, guidance, eta):
            if isinstance(item, remove_noise.ReverseFrame):
                progress((item.step, item.steps), desc="Removing noise")
                yield _frame_outputs(item)
            else:
                yield _result_outputs(item)


def _new_seed() -> int:
    """Another starting static: a fresh random seed (never the global torch seed)."""
    return random.SystemRandom().randint(0, NEW_SEED_MAX)


def _scrub(result: remove_noise.ReverseResult | None, step: int) -> tuple:
    """Show step ``step`` of the finished run (1-based; outside 1 … steps, the nearest end): no model call."""
    if result is None:
        raise gr.Error("Make a picture first (press Generate), then look at its steps.", print_exception=False)
    try:
        i = min(max(int(step), 1), result.steps) - 1
    except (TypeError, ValueError, OverflowError):  # None, text, NaN, ∞ from an API caller
        raise gr.Error(f"The step to look at must be a whole number from 1 to {result.steps}, got {step!r}.",
                       print_exception=False) from None
    return (common.big(result.x_t[i]), common.big(result.x0[i]), common.big(result.noise[i]),
            _step_text(i + 1, result.steps, int(result.ts[i])))


# ----------------------------------------------------------------------------- presentation

def _step_text(step: int, steps: int, t: int) -> str:
    return (f"**Step {step} of {steps}** (t = {t}): the network predicts the noise ε in x_t; "
            "the sampler removes a little of it.")


def _frame_outputs(frame: remove_noise.ReverseFrame) -> tuple:
    """A progress frame: x_t, x̂0 and the step counter; the outputs of the finished run stay empty.

    The noise picture, what was drawn, the chart, the one-jump pair and the downloads are empty
    values (the previous run's vanish with the first frame; Gradio sends only what changed, so the
    later frames send nothing for them). Not ``gr.skip()``: in Gradio 6.31 every skipped component
    output rebuilds that component and the browser session keeps each copy (+5 components a run).
    The first frame (step 1) also locks the scrub slider until the run is done.
    """
    first = frame.step == 1
    return (common.big(frame.x_t), common.big(frame.x0), None,
            _step_text(frame.step, frame.steps, frame.t), gr.Slider(interactive=False) if first else gr.skip(),
            "", None, None, None, gr.skip())


def _result_outputs(result: remove_noise.ReverseResult) -> tuple:
    """A finished run → every output: the last step on show, the scrub slider, chart, pair, files."""
    last = result.steps - 1
    scrub = gr.Slider(minimum=1, maximum=result.steps, value=result.steps, interactive=True)
    return (common.big(result.x_t[last]), common.big(result.x0[last]), common.big(result.noise[last]),
            _done_text(result), scrub, _mapping_text(result), result.confidence_figure, result.comparison,
            [str(result.gif_path), str(result.strip_path)], result)


def _done_text(result: remove_noise.ReverseResult) -> str:
    name = SAMPLER_NAMES[result.sampler]
    guidance = f"guidance s = {result.guidance:g}" if result.label is not None else "no guidance (unconditional)"
    eta = f", η = {result.eta:g}" if result.sampler == "ddim" else ""
    again = " Answered from the cache: this exact picture was made before." if result.cached else ""
    return (f"**Done: {result.steps} steps** with {name}{eta}, {guidance}, seed {result.seed}. "
            f"Drag the slider to look at any step.{again}")


def _mapping_text(result: remove_noise.ReverseResult) -> str:
    return f"**What was drawn:** {result.mapping}\n\n**The judge:** {result.judge_note}"
