"""The "Compare" tab: widgets and event wiring around ``explorer.demos.compare``, ``latent_map`` and ``interpolation``.

Owns: the layout of the tab (plain lesson text beside the controls; outputs: the VAE's, the GAN's and
the diffusion model's pictures of the same class and seeds, how each learned and how many random
numbers go in, what each cost, the measured quality from the model cards, diffusion's quality against
its steps and 1 step vs N steps from the same static, with a predict-then-reveal question beside it,
answered once the comparison has been made;
the VAE's learned space as a map with a decoded point; interpolation strips; the symbols and measures'
definitions in a closed "The maths" section), and its events. Public
endpoints, all arguments with defaults: ``/compare`` (dataset, class_name, seeds, first_seed, steps),
``/latent_point`` (dataset, class_name, x, y) and ``/interpolate`` (dataset, class_name, picture_a,
picture_b, seed_a, seed_b). They run in the concurrency group for many-picture requests,
``serving.LONG_MODEL_GROUP`` (explorer.server.serving sets its limit and wraps them for ZeroGPU). Making the comparison
brings
its pictures into view (on a phone they are below the controls).
Does not know: the maths (the demo does it).
"""

from __future__ import annotations

import gradio as gr

from explorer.checks import MAX_SEED
from explorer.demos import compare as demo
from explorer.demos import interpolation as walk_demo
from explorer.demos import latent_map as map_demo
from explorer.sampling import DEFAULTS, LIVE_MAX_STEPS
from explorer.server import estimates, openings, serving
from explorer.ui import common, links, predict_reveal

CAPTION = ("**One pass or many small steps?** A VAE and a GAN make a picture in one network pass; "
           "diffusion cleans static a little at a time.")
STEPS_CAPTION = "**Is the patience worth it?** Diffusion's measured quality against its number of steps."
LESSON = """
### One shot, or many small steps?
A **VAE** and a **GAN** make a picture in **one network pass**: a few random numbers in, picture out.
A **diffusion** model starts from static and **cleans it up a little at a time**: every step is a
network pass (two on the steps where guidance pushes: told the class and told nothing). It buys
quality with patience.

- **Same class, same seed numbers** for all three — but not the same noise: each model draws its own
  random numbers from the seed ({vae} for the VAE, {gan} for the GAN, {diffusion} for diffusion), so compare the rows
  as three answers to one request, not as one start.
- **The cost** is counted and timed on this server, now: network passes and milliseconds per picture.
- **Is the patience worth it?** The measured numbers decide, whichever way they fall: the quality
  table (many pictures of every class, scored by the judge, a separate network that only names the
  class of a picture) and the chart of quality against steps.
"""
LATENT_CAPTION = "**Inside the VAE:** move the cross on the map of its codes and see the picture decoded there."
INTERPOLATION_CAPTION = "**Walking between two pictures:** eight frames from one code to another, VAE and GAN."
LATENT_LESSON = """
### Inside the VAE: a map of its codes
The VAE's encoder turns every real picture into a short list of numbers, its **code**; the decoder
turns a code (and a class) back into a picture. The map squeezes the codes onto the two directions
along which they spread the most. Move the cross with the sliders: the picture at that point is
decoded live. The class is given to the VAE separately, so the code is meant to hold the style
(thickness, width, slant…) and the classes overlap on the map.
"""
INTERPOLATION_LESSON = """
### Walking between two pictures
Eight frames from one code to another: the **VAE** between the codes of two real gallery pictures
(hover over the map to see their numbers; every frame is decoded as the chosen class), the **GAN**
between the noise of two seeds, along the sphere where such noise lies.
"""
MATHS = """
- **Distance from real pictures** is the Fréchet distance: fit a bell curve (a Gaussian: mean and
  covariance) to the judge's features of the made pictures and another to those of real test pictures,
  and measure how far apart the two are. Two sets of real pictures are not at 0 either; that "real vs
  real floor" is the number in brackets, and the chart divides by it (1 = as close as real pictures get).
  The chart's step axis is logarithmic (each tick is a measured number of steps).
- **Variety** is the average distance between the judge's features of two pictures of the same class,
  divided by the same for real pictures.
- **Random numbers in** (read from the networks): the VAE decodes a code z of {vae} numbers drawn for the
  class, z ~ p(z | y); the GAN turns z ~ N(0, I) of {gan} numbers into a picture; diffusion starts from
  x_T ~ N(0, I), one number per pixel: {diffusion}. The sampler used here (DPM-Solver++) adds no fresh
  noise along the way; DDPM would add {diffusion} more at every step.
- **The map** shows the first two principal components (PCA) of the VAE's codes of the gallery pictures,
  in standard deviations along each.
"""
STEPS_QUESTION = dict(
    prompt="One network pass from pure static: will the picture be sharp or blurry?",
    choices=["Sharp", "Blurry: a soft smudge", "Still static"],
    answer="Blurry: a soft smudge",
    explanation="From pure static the network can only guess the average of every picture the static could "
                "become, and an average is blurry. The many small steps commit to the details one at a time.",
)
MAKING = "The example (the first class, seed 0) is being made…"  # shown until the opening arrives
RESULTS_ID = "compare-results"  # elem_id of the column of the three families' pictures
HEAVY = dict(concurrency_id=serving.LONG_MODEL_GROUP, concurrency_limit=serving.LONG_CONCURRENCY,
             trigger_mode="always_last")


def build(dataset_radio: gr.Radio) -> None:
    """Create the tab's content inside the current ``gr.Tab`` and wire its events."""
    with gr.Row():
        with gr.Column(scale=2, min_width=300):
            gr.Markdown(CAPTION, elem_classes=[common.CAPTION])
            run = links.main_button(gr.Button("Make them", variant="primary"))
            class_name = common.class_dropdown(dataset_radio, "compare_dataset")
            seeds = gr.Slider(1, demo.MAX_SEEDS, value=demo.DEFAULT_SEEDS, step=1,
                                  label="Pictures per model")
            first_seed = gr.Number(0, precision=0, minimum=0, maximum=MAX_SEED, label="First seed")
            steps = gr.Slider(1, LIVE_MAX_STEPS, value=DEFAULTS.steps, step=1, label="Diffusion steps")
            with gr.Accordion(common.NOTES_TITLE, open=False, elem_classes=[common.NOTES]):
                gr.Markdown(LESSON.format(**demo.random_numbers(common.DEFAULT_DATASET)))
        with gr.Column(scale=3, min_width=300, elem_id=RESULTS_ID):
            family_images = [common.image_output(title) for title in
                             ("VAE: one decoder pass", "GAN: one generator pass", "Diffusion: many small steps")]
            speed = gr.Markdown(MAKING)
    gr.Markdown(STEPS_CAPTION, elem_classes=[common.CAPTION])
    with gr.Accordion("Measured quality of each model", open=False):
        quality = gr.Markdown()
    with gr.Row():
        with gr.Column(scale=3, min_width=300):
            steps_plot = gr.Plot(label="Diffusion: quality against the number of steps", show_label=False)
            steps_note = gr.Markdown()
        with gr.Column(scale=2, min_width=300):
            steps_pair = common.image_output("The same static: 1 step vs many")
            asked = predict_reveal.question(**STEPS_QUESTION, action=predict_reveal.press(run.value))
    for name, widget, kind in [("class", class_name, links.Text(40)),
                               ("pictures", seeds, links.Whole(1, demo.MAX_SEEDS)),
                               ("seed", first_seed, links.Whole(0, MAX_SEED)),
                               ("steps", steps, links.Whole(1, LIVE_MAX_STEPS))]:
        links.setting(name, widget, kind)
    compare_outputs = [*family_images, speed, quality, steps_plot, steps_note, steps_pair]
    compared = gr.on([run.click, steps.release, seeds.release], serving.gpu(_compare),
                     inputs=[dataset_radio, class_name, seeds, first_seed, steps], outputs=compare_outputs,
                     api_name="compare", **HEAVY)
    estimates.declare_units("compare", lambda seeds, steps, **rest: float(seeds) * float(steps),  # diffusion's work
                            seeds=[first_seed])
    asked.reveal_after(compared)
    asked.covers(steps_pair)
    common.reveal([run.click, steps.release, seeds.release], RESULTS_ID)

    latent_outputs = _latent_section(dataset_radio, class_name)
    walk_outputs = _interpolation_section(dataset_radio, class_name)
    openings.fill([*compare_outputs, *latent_outputs, *walk_outputs], _defaults, api_name="compare_opening")
    with gr.Accordion("The maths", open=False, elem_classes=[common.NOTES]):
        gr.Markdown(MATHS.format(**demo.random_numbers(common.DEFAULT_DATASET)))


def _defaults() -> tuple:
    """Every section's outputs at the defaults (the first dataset and class, seed 0, the map's centre)."""
    return (*_compare(common.DEFAULT_DATASET, None, demo.DEFAULT_SEEDS, 0, DEFAULTS.steps),
            *_latent_point(common.DEFAULT_DATASET, None, 0.0, 0.0),
            *_interpolate(common.DEFAULT_DATASET, None, 0, 25, 0, 1))


def _latent_section(dataset_radio: gr.Radio, class_name: gr.Dropdown) -> list:
    """The map of the VAE's codes and the picture decoded at the chosen point."""
    with gr.Row():
        with gr.Column(scale=2, min_width=300):
            gr.Markdown(LATENT_CAPTION, elem_classes=[common.CAPTION])
            common.notes(LATENT_LESSON)
            x = gr.Slider(-map_demo.MAP_RANGE, map_demo.MAP_RANGE, value=0, step=0.1, label="map x")
            y = gr.Slider(-map_demo.MAP_RANGE, map_demo.MAP_RANGE, value=0, step=0.1, label="map y")
            show = gr.Button("Draw the map and decode the point")
            decoded = common.image_output("The picture decoded at the cross")
        with gr.Column(scale=3, min_width=300):
            latent_map = gr.Plot(label="The VAE's codes of the real gallery pictures", show_label=False)
            note = gr.Markdown()
    gr.on([show.click, x.release, y.release], serving.gpu(_latent_point), inputs=[dataset_radio, class_name, x, y],
          outputs=[decoded, latent_map, note], api_name="latent_point", **HEAVY)
    return [decoded, latent_map, note]


def _interpolation_section(dataset_radio: gr.Radio, class_name: gr.Dropdown) -> list:
    """VAE between two gallery pictures, GAN between two seeds."""
    gr.Markdown(INTERPOLATION_CAPTION, elem_classes=[common.CAPTION])
    common.notes(INTERPOLATION_LESSON)
    with gr.Row():
        picture_a = gr.Number(0, precision=0, minimum=0, label="VAE: real picture a (number)")
        picture_b = gr.Number(25, precision=0, minimum=0, label="VAE: real picture b (number)")
        seed_a = gr.Number(0, precision=0, minimum=0, maximum=MAX_SEED, label="GAN: seed a")
        seed_b = gr.Number(1, precision=0, minimum=0, maximum=MAX_SEED, label="GAN: seed b")
    walk = gr.Button("Interpolate")
    vae_strip = common.image_output("VAE: from picture a to picture b (both shown at the ends)")
    gan_strip = common.image_output("GAN: from seed a's noise to seed b's")
    note = gr.Markdown()
    walk.click(serving.gpu(_interpolate), inputs=[dataset_radio, class_name, picture_a, picture_b, seed_a, seed_b],
             outputs=[vae_strip, gan_strip, note], api_name="interpolate", **HEAVY)
    estimates.declare_units("interpolate", seeds=[seed_a, seed_b])
    return [vae_strip, gan_strip, note]


# ----------------------------------------------------------------------------- event handlers

def _compare(dataset: str, class_name: str, seeds: int, first_seed: int, steps: int) -> tuple:
    with common.user_errors():
        result = demo.compare(dataset, class_name, seeds, first_seed, steps)
    vae, gan, diffusion, _ = result.runs
    steps_plot = gr.Plot(result.steps_figure, visible=result.steps_figure is not None)
    return (vae.strip, gan.strip, diffusion.strip, _speed_text(result), _quality_text(result),
            steps_plot, result.steps_note, result.steps_pair)


def _latent_point(dataset: str, class_name: str, x: float, y: float) -> tuple:
    with common.user_errors():
        point = map_demo.latent_point(dataset, class_name, x, y)
    return common.big(point.image), point.figure, point.note


def _interpolate(dataset: str, class_name: str, picture_a: int, picture_b: int, seed_a: int, seed_b: int) -> tuple:
    with common.user_errors():
        result = walk_demo.interpolate(dataset, class_name, picture_a, picture_b, seed_a, seed_b)
    return result.vae_strip, result.gan_strip, result.note


# ----------------------------------------------------------------------------- presentation

def _markdown_table(headers: list[str], rows: list[list[str]]) -> str:
    lines = [headers, ["---"] * len(headers), *rows]
    return "\n".join(f"| {' | '.join(line)} |" for line in lines)


def _speed_text(result: demo.CompareResult) -> str:
    return (f"**{result.class_name}**, seeds {result.seeds[0]}–{result.seeds[-1]}\n\n"
            + _markdown_table([demo.SPEED_HEADERS[i] for i in (0, 2, 3)],
                              [[row[i] for i in (0, 2, 3)] for row in result.speed_rows])
            + "\n\n<details><summary>How each one works</summary>\n\n"
            + _markdown_table(demo.FAMILY_HEADERS, result.family_rows)
            + f"\n\n{result.no_contest}\n\nPasses are counted while the code runs; times are measured in this "
              "request on this server (they vary with its load).\n\n</details>")


def _quality_text(result: demo.CompareResult) -> str:
    return ("**Measured quality** (from the model cards)\n\n"
            + _markdown_table(demo.QUALITY_HEADERS, result.quality_rows) + "\n\n" + result.quality_note)
