"""The "Remove noise" tab: widgets and event wiring around ``explorer.demos.remove_noise.remove_noise_stream``.

Owns: the layout of the tab (lesson text beside the controls: prompt, class, seed with "New static",
sampler, steps, guidance, η; outputs: x_t and x̂0 live while the model runs, then with the
predicted noise scrubbable step by step, the judge's confidence chart, one jump vs many steps, what the
prompt meant, downloads; a predict-then-reveal question beside the one-jump pair, answered when a run
has finished, however it was started, and why one jump is worse in a closed section after the pair), and
its events. The public endpoint ``/generate`` streams and takes (dataset, prompt, class_name, seed,
sampler, steps, guidance, eta), all with defaults; it runs in the quick model group "model"
(serving.QUICK_CONCURRENCY at once, their network calls shared), as do "New static" and the examples,
which run as soon as they are clicked; each of them scrolls the page to the outputs when none of them is on screen (on
a phone they sit below the controls). Sliders and number boxes leave
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

from explorer import denoiser
from explorer.checks import MAX_SEED
from explorer.demos import remove_noise
from explorer.guidance import MAX_GUIDANCE
from explorer.prompts import MAX_PROMPT_CHARS
from explorer.sampling import DEFAULTS, LIVE_MAX_STEPS
from explorer.server import estimates, serving
from explorer.ui import (
    common,
    different_endings_section,
    finish_drawing_section,
    links,
    predict_reveal,
    switch_prompt_section,
)

CAPTION = ("**From pure static to a picture:** at each step the network guesses the static and takes a little "
           "of it away.")
LESSON = """
### Making a picture out of pure static
The network starts from **pure static**. At every step it looks at the picture, **guesses the static
still in it** (the one thing it was trained to do: see "Ask the network" on the Add noise tab) and takes
a little of that static away. After the last step, a picture is left.

- **Nothing is planned up front.** At each step the network only answers "what static is in this?",
  told the class you asked for. See "Switch the prompt mid-run" below.
- **Different static, different picture.** The seed picks the starting static: "New static" gives
  another picture of the same class. See "Same start, different endings" below.
- **The prompt** is matched to one of the 10 classes the model knows; anything else runs with no class.
- **Guidance** says how hard the class pushes: 0 ignores it, 1 is what the network learned, more pushes
  harder.
"""
MATHS = """
- x_t is the picture at step t (t = 999 is pure static, t = 0 clean); x̂0 ("x-zero-hat") is the network's
  guess of the clean picture; ε ("epsilon") is the static it predicts. Knowing one gives the other:
  x̂0 = (x_t − √(1−ᾱ_t)·ε) / √ᾱ_t (ᾱ_t as on the Add noise tab).
- Guidance runs the network twice per step, told the class (ε_c) and told nothing (ε_u), and uses
  **ε = ε_u + s·(ε_c − ε_u)**. Some papers write w = s − 1 (their w = 0 is our s = 1).
- INTERVAL
- Steps: the sampler visits that many values of t, evenly spaced from 999 downwards; the last step goes
  straight to the clean picture.
"""
ADVANCED_INFO = ("Shaky (DDPM) adds fresh random static at every step, so it needs many steps. Steady (DDIM) adds "
                 "none at 0 (the same seed always ends the same way). Fast (DPM-Solver++, the default) takes bigger, "
                 f"better-aimed steps and needs only about {DEFAULTS.steps}.")
ONE_JUMP = ("**One jump, or many small steps?** From the run's pure static: one network pass (left) against all "
            "the small steps (right).")
ONE_JUMP_WHY = """
**Much worse in one jump.** Nobody knows which static was added to make this start, and many different
clean pictures fit the same static — so the network's one-jump guess (left) is their blurry average.
Each small step removes only a little static, looks again and commits to a bit more detail (right).
Compare "One jump, or k small steps?" on the Add noise tab: going forwards, we chose the static
ourselves, so one formula does the whole jump exactly.
"""
JUDGE = ("**The judge** is a separate small network, trained only to name the class of a picture; it never "
         "helps make one. The chart shows, step by step, how likely it finds that the network's guess of the "
         "clean picture shows the class asked for.")
SAMPLER_CHOICES = [("Shaky: fresh static every step", "ddpm"), ("Steady: no fresh static", "ddim"),
                   ("Fast: bigger, better-aimed steps", "dpm++")]
SAMPLER_NAMES = {value: name.split(":")[0].lower() for name, value in SAMPLER_CHOICES}
EXAMPLES = [["fashion", "a sneaker"], ["fashion", "a horse"], ["mnist", "the number 7"]]
REPLAY_SECONDS = 0.4  # one step of the replay per tick
NEW_SEED_MAX = 999_999  # "New static" seeds stay short enough to read out and type
OPENING_SEED = 7  # the seed the tab opens on: measured (Fashion, T-shirt/top, defaults), the judge's probability
# of the class rises 0.30 → 1.00 along its steps; seed 0's falls from 0.48 to 0.30 and would argue that steps hurt
RESULTS_ID = "remove-noise-results"  # elem_id of the column of outputs
SCRUB_ID = "step-slider"  # elem_id of the step slider that scrubbing and the replay move


def build(dataset_radio: gr.Radio) -> None:
    """Create the tab's content inside the current ``gr.Tab`` and wire its events."""
    first = remove_noise.remove_noise(seed=OPENING_SEED)  # the opening run (cached once per process)
    with gr.Row():
        with gr.Column(scale=2, min_width=300):
            gr.Markdown(CAPTION, elem_classes=[common.CAPTION])
            prompt = links.setting("prompt", gr.Textbox(
                "", label="Prompt", max_length=MAX_PROMPT_CHARS,
                placeholder="e.g. a sneaker, an ankle boot, the number 7"), links.Text(MAX_PROMPT_CHARS))
            run = links.main_button(gr.Button("Generate", variant="primary"))
            class_name = links.setting("class", common.class_dropdown(
                dataset_radio, "generate_dataset", label="Class (if no prompt)"), links.Text(40))
            with gr.Row():
                seed = links.setting("seed", gr.Number(
                    OPENING_SEED, precision=0, minimum=0, maximum=MAX_SEED, scale=3,
                    label="Seed (which static)"), links.Whole(0, MAX_SEED))
                new_static = gr.Button("New static", scale=1)
            steps = links.setting("steps", gr.Slider(1, LIVE_MAX_STEPS, value=DEFAULTS.steps, step=1,
                                                     label="Steps"),
                                  links.Whole(1, LIVE_MAX_STEPS))
            guidance = links.setting("guidance", gr.Slider(
                0, MAX_GUIDANCE, value=DEFAULTS.guidance, step=0.5,
                label="Guidance (0 = ignore class)"), links.Real(0, MAX_GUIDANCE))
            with gr.Accordion("Advanced", open=False):
                sampler = gr.Radio(SAMPLER_CHOICES, value=DEFAULTS.sampler, label="Recipe for the steps",
                                   info=ADVANCED_INFO)
                eta = gr.Slider(0, 1, value=DEFAULTS.eta, step=0.1,
                                label="Fresh static per step (only the careful recipe uses it; 0 = none)")
            examples = gr.Examples(EXAMPLES, inputs=[dataset_radio, prompt], label="Try")
            with gr.Accordion(common.NOTES_TITLE, open=False, elem_classes=[common.NOTES]):
                gr.Markdown(LESSON)
                gr.Markdown(MATHS.replace("INTERVAL", _interval_text()))
        with gr.Column(scale=3, min_width=300, elem_id=RESULTS_ID):
            outputs, (play, pause) = _output_widgets(first)
            asked = _one_jump(outputs[7], run)
            outputs[8].render()  # the downloads, last
    x_t_image, x0_image, noise_image, status, scrub = outputs[:5]
    trajectory = outputs[-1]

    inputs = [dataset_radio, prompt, class_name, seed, sampler, steps, guidance, eta]
    model_event = dict(fn=serving.gpu(_remove_noise), inputs=inputs, outputs=outputs,
                       concurrency_id=serving.MODEL_GROUP, concurrency_limit=serving.QUICK_CONCURRENCY)
    triggers = [run.click, prompt.submit, seed.submit, steps.release, guidance.release, eta.release]
    generated = gr.on(triggers, **model_event, api_name="generate", trigger_mode="always_last")
    new_run = new_static.click(_new_seed, outputs=seed, api_name="new_seed", api_visibility="undocumented",
                               queue=False).then(**model_event, api_name="generate_new_static",
                                                 api_visibility="undocumented")
    example_run = examples.load_input_event.then(**model_event, api_name="generate_example",
                                                 api_visibility="undocumented")
    for api_name in ("generate", "generate_new_static", "generate_example"):
        estimates.declare_units(api_name, lambda steps, **rest: float(steps), seeds=[seed])  # a pass per step
    asked.reveal_after(generated, new_run, example_run)
    common.reveal([*triggers, new_static.click, examples.dataset.click], RESULTS_ID)
    scrub.input(_scrub, inputs=[trajectory, scrub], outputs=[x_t_image, x0_image, noise_image, status],
                api_name="generate_scrub", api_visibility="undocumented", trigger_mode="always_last",
                show_progress="hidden")
    _wire_replay(play, pause, [*triggers, new_static.click, examples.dataset.click], trajectory,
                 [x_t_image, x0_image, noise_image, status, scrub])
    linked = links.linked_run_check()

    def opening(request: gr.Request) -> tuple:
        """Page load: the opening's run, shown at step 1 and ready to play or scrub (a link's own run replaces it)."""
        return gr.skip() if linked(request) else first

    gr.on(None, opening, outputs=trajectory, queue=False, api_visibility="private", show_progress="hidden")

    different_endings_section.build(dataset_radio, class_name)
    finish_drawing_section.build(dataset_radio)
    switch_prompt_section.build(dataset_radio)


def _output_widgets(first: remove_noise.RemoveNoiseResult) -> tuple[list, tuple[gr.Button, gr.Button]]:
    """The tab's outputs, in the order ``_remove_noise`` fills them, showing ``first`` (the last is the run's
    state; the one-jump pair and the downloads are rendered later), and the replay's Play and Pause."""
    with gr.Row():  # the opening shows step 1 (pure static), ready to play
        x_t_image = common.image_output("This step's picture", value=common.big(first.x_t[0]))
        x0_image = common.image_output("Its guess of the clean picture", value=common.big(first.x0[0]))
        noise_image = common.image_output("The static it sees",
                                          value=common.big(first.noise[0]))
    status = gr.Markdown(_step_text(1, first.steps, int(first.ts[0])) + ": pure static. Press ▶ Play.", label="step")
    scrub = gr.Slider(1, _scrub_top(first.steps), value=1, step=1, interactive=first.steps > 1,
                      elem_id=SCRUB_ID, label="Look at step")
    play, pause = _replay_buttons()
    mapping = gr.Markdown(_mapping_text(first), label="what was drawn")
    confidence = gr.Plot(first.confidence_figure, label="The judge's confidence at each step", show_label=False)
    comparison = common.image_output("Left: the guess from pure static in one network call. Right: the final picture",
                                     value=first.comparison, render=False)
    files = gr.File([str(first.gif_path), str(first.strip_path)], label="Download the run (GIF, strip)",
                    file_count="multiple", interactive=False, render=False)
    # the finished remove_noise.RemoveNoiseResult, for scrubbing (page load: the defaults' run)
    trajectory = gr.State(None)
    return ([x_t_image, x0_image, noise_image, status, scrub, mapping, confidence, comparison, files, trajectory],
            (play, pause))


def _one_jump(comparison: gr.Image, run: gr.Button) -> predict_reveal.Question:
    """The one-jump paragraph, its question (answered by a run: ``run`` makes one), the pair of pictures
    (rendered here, below the chart) and, closed, why one jump is worse."""
    gr.Markdown(ONE_JUMP, elem_classes=[common.CAPTION])
    asked = predict_reveal.question(
        "One network pass straight from pure static: will the picture be sharp or blurry?",
        ["Sharp", "Blurry"], "Blurry",
        "Many different clean pictures fit the same static, and one pass can only guess their average: a blur "
        "with the rough outline of the class. The small steps each commit to a little more detail.",
        action=predict_reveal.press(run.value))
    comparison.render()
    asked.covers(comparison)
    predict_reveal.why(ONE_JUMP_WHY)
    return asked


def _interval_text() -> str:
    """The guidance interval of the shipped denoisers, as the sampler applies it."""
    intervals = {key: denoiser.get(key).guidance_interval for key in ("fashion", "mnist")}
    if len(set(intervals.values())) == 1:
        interval = intervals["fashion"]
        where = "both models"
    else:
        interval, where = intervals[common.DEFAULT_DATASET], f"the {common.DEFAULT_DATASET} model"
    if interval is None:
        return f"Guidance s is applied at every step ({where})."
    return (f"Guidance above 1 is applied only while t is from {interval[0]} to {interval[1]} "
            f"({where}; chosen by measurement, "
            f"see the model cards); on the noisier steps s is capped at 1, the class alone.")


# ----------------------------------------------------------------------------- event handlers

def _remove_noise(dataset: str, prompt: str, class_name: str, seed: int, sampler: str, steps: int,
              guidance: float, eta: float, progress=gr.Progress()):
    """Stream x_t, x̂0 and the predicted noise while the model runs; then every output."""
    with common.user_errors():
        for item in remove_noise.remove_noise_stream(dataset, prompt, class_name, seed, sampler, steps, guidance, eta):
            if isinstance(item, remove_noise.RemoveNoiseFrame):
                progress((item.step, item.steps), desc="Removing noise")
                yield _frame_outputs(item)
            else:
                yield _result_outputs(item)


def _new_seed() -> int:
    """Another starting static: a fresh random seed (never the global torch seed)."""
    return random.SystemRandom().randint(0, NEW_SEED_MAX)


def _scrub(result: remove_noise.RemoveNoiseResult | None, step: int) -> tuple:
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


def _wire_replay(play: gr.Button, pause: gr.Button, stops: list, trajectory: gr.State, shown: list) -> None:
    """Play moves the step slider (and the pictures) through the finished run, one step per tick of a timer
    in the page; Pause, the end of the run or a new run stops it. The ticks read the run from per-browser
    state: no model call."""
    timer = gr.Timer(REPLAY_SECONDS, active=False)
    light = dict(queue=False, api_visibility="private", show_progress="hidden")
    play.click(_play, inputs=[trajectory, shown[-1]], outputs=[*shown, timer], **light)
    timer.tick(_tick, inputs=[trajectory, shown[-1]], outputs=[*shown, timer], **light)
    gr.on([pause.click, *stops], _pause, outputs=timer, **light)


def _replay_buttons() -> tuple[gr.Button, gr.Button]:
    with gr.Row():
        play = gr.Button("▶ Play", size="sm", min_width=120)
        pause = gr.Button("Pause", size="sm", min_width=120)
    return play, pause


def _play(result: remove_noise.RemoveNoiseResult | None, step: int) -> tuple:
    """Start the replay from the step on show (from step 1 when the last one is on show)."""
    if result is None:
        raise gr.Error("Make a picture first (press Generate), then play it.", print_exception=False)
    start = 1 if _step_index(result, step) >= result.steps - 1 else _step_index(result, step) + 1
    return (*_scrub(result, start), start, gr.Timer(active=True))


def _tick(result: remove_noise.RemoveNoiseResult | None, step: int) -> tuple:
    """One step further; the last step stops the timer."""
    if result is None:
        return (*[gr.skip()] * 5, gr.Timer(active=False))
    following = min(_step_index(result, step) + 2, result.steps)
    return (*_scrub(result, following), following,
            gr.Timer(active=False) if following == result.steps else gr.skip())


def _pause() -> gr.Timer:
    return gr.Timer(active=False)


def _step_index(result: remove_noise.RemoveNoiseResult, step) -> int:
    """The 0-based step shown by the slider's value (anything unreadable: the last step)."""
    try:
        return min(max(int(step), 1), result.steps) - 1
    except (TypeError, ValueError, OverflowError):
        return result.steps - 1


# ----------------------------------------------------------------------------- presentation

def _step_text(step: int, steps: int, k: int) -> str:
    """What step ``step`` of ``steps`` does; ``k`` (the noising steps the picture is at) stays in the notes."""
    return f"**Step {step} of {steps}**"


def _frame_outputs(frame: remove_noise.RemoveNoiseFrame) -> tuple:
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


def _result_outputs(result: remove_noise.RemoveNoiseResult) -> tuple:
    """A finished run → every output: the last step on show, the scrub slider, chart, pair, files."""
    last = result.steps - 1
    scrub = gr.Slider(minimum=1, maximum=_scrub_top(result.steps), value=result.steps, interactive=result.steps > 1)
    return (common.big(result.x_t[last]), common.big(result.x0[last]), common.big(result.noise[last]),
            _done_text(result), scrub, _mapping_text(result), result.confidence_figure, result.comparison,
            [str(result.gif_path), str(result.strip_path)], result)


def _scrub_top(steps: int) -> int:
    """The step slider's top end: the run's last step, and 2 for a one-step run (a slider needs a range;
    the slider is locked then, and scrubbing past the last step shows the last step)."""
    return max(steps, 2)


def _done_text(result: remove_noise.RemoveNoiseResult) -> str:
    name = SAMPLER_NAMES[result.sampler]
    guidance = f"guidance s = {result.guidance:g}" if result.label is not None else "no guidance (unconditional)"
    eta = f", fresh static {result.eta:g}" if result.sampler == "ddim" else ""
    again = " Answered from the cache: this exact picture was made before." if result.cached else ""
    plural = "step" if result.steps == 1 else "steps"
    return (f"**Done: {result.steps} {plural}** ({name} recipe{eta}), {guidance}, seed {result.seed}. "
            f"Drag the slider to look at any step, or press Play to watch the run.{again}")


def _mapping_text(result: remove_noise.RemoveNoiseResult) -> str:
    return f"**What was drawn:** {result.mapping}\n\n**The judge:** {result.judge_note}"
