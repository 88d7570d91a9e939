"""The "Ask the network" section of the Add-noise tab: widgets and events around
``explorer.demos.ask_the_network.ask_the_network``.

Owns: the section's layout (plain lesson text and a predict-then-reveal question, answered once the
network has been asked about a new noisy picture, with its "why" in a closed section after it, beside
the outputs: the noise strip — added, guessed, difference —, the picture strip — shown, worked out,
real —, the numbers in words and the chart of the error against t), and its event. The public endpoint
``/ask_the_network`` takes (dataset, gallery_index, k, seed), all with defaults, and follows the tab's
picture: a student's upload or drawing arrives through the tab's per-browser state. It runs whenever
the tab's noisy picture changes (picture, k, seed or dataset), in the concurrency group "model".
Does not know: the maths (the demo does it) or how pictures are decoded (the tab does it).
"""

from __future__ import annotations

import gradio as gr
import numpy as np

from explorer.demos import ask_the_network as demo
from explorer.server import estimates, serving
from explorer.ui import common, predict_reveal

SECTION_ID = "ask-the-network"
CAPTION = "**Ask the network:** we noised this picture ourselves, so we know the answer; see what the network says."
LESSON = """
### Ask the network
We made the noisy picture above ourselves, so **we know the right answer**: the exact static we added.
The trained network is shown only the noisy picture and how much static it holds (t) — and, for a real
picture, its class. It **guesses the static**.

- **Top strip:** the static we added, the network's guess, and the difference (brightened ×3 so you can
  see it; grey = no mistake).
- **Knowing the static is the same as knowing the clean picture:** take the guessed static away and turn
  the contrast back up. **Bottom strip:** what it was shown, the picture worked out from its guess, the
  real one.
- **Your own drawing** (Upload or Draw): the network is told no class, and its guess tidies your picture
  towards what the training pictures look like.
- **The chart:** how far off the worked-out picture is at every number of noising steps k, for this picture and \
this static.
  With little static there is little to undo; near pure static there is the most to undo.
"""
WHY = """
**Guessing the static is the only thing the network is ever trained to do.** That is all the training
is: real pictures, noised by a random amount, and the network's guess scored against the static that
was really added — over and over. (Strictly, this network answers with a mix of the static and the
picture, which comes to the same: see The maths above.)
"""
T_ZERO = "At **k = 0** no static has been added yet, so there is nothing to guess: move k above 0."


def build(inputs: list, trigger) -> None:
    """The section, inside the current Blocks context. ``inputs``: the tab's (dataset, gallery index, k,
    seed, custom picture state); ``trigger``: the event that means "the noisy picture changed"."""
    first = demo.ask_the_network()  # the default picture: the section opens filled in
    with gr.Row(elem_id=SECTION_ID):
        with gr.Column(scale=2, min_width=300):
            gr.Markdown(CAPTION, elem_classes=[common.CAPTION])
            common.notes(LESSON)
            asked = predict_reveal.question(
                "What is the network trained to do?",
                ["Draw the class it is told", "Guess the static we added", "Copy a training picture"],
                "Guess the static we added",
                "Training never asks it for a whole picture. It only ever sees a picture we noised ourselves "
                "and is scored on how well it guesses that noise. Making a new picture comes later, by "
                "asking this same question again and again, starting from pure static (the Remove noise tab).",
                action="move **k** or pick another picture (above)")
            predict_reveal.why(WHY)
        with gr.Column(scale=3, min_width=300):
            noise_strip = common.image_output("The static: added | guessed | difference ×3 (grey = 0)",
                                              value=first.noise_strip)
            picture_strip = common.image_output("The picture: shown to it | worked out from its guess | real",
                                                value=first.picture_strip)
            numbers = gr.Markdown(_numbers(first))
            chart = gr.Plot(first.error_figure, label="Error against the noising steps k", show_label=False)
    asking = trigger(serving.gpu(_ask), inputs=inputs, outputs=[noise_strip, picture_strip, numbers, chart],
                     api_name="ask_the_network", concurrency_id=serving.MODEL_GROUP,
                     concurrency_limit=serving.QUICK_CONCURRENCY, trigger_mode="always_last", show_progress="hidden")
    estimates.declare_units("ask_the_network", seeds=[inputs[3]])
    asked.covers(noise_strip, picture_strip, numbers, chart)
    asked.reveal_after(asking)


def _ask(dataset: str = "fashion", gallery_index: int = 0, k: int = demo.DEFAULT_STEPS, seed: int = 0,
         custom: np.ndarray | None = None) -> tuple:
    """The tab's picture after k steps, and the network's guess of its static (k = 0: nothing to ask)."""
    if isinstance(k, (int, float)) and not isinstance(k, bool) and k == 0:
        return gr.skip(), gr.skip(), T_ZERO, gr.skip()
    with common.user_errors():
        result = demo.ask_the_network(dataset, gallery_index, custom, k, seed)
    return result.noise_strip, result.picture_strip, _numbers(result), result.error_figure


def _numbers(result: demo.AskResult) -> str:
    return (f"**k = {result.steps}**, {result.picture}, **{result.told}**. Its static is off by "
            f"**{result.noise_error:.2f}** a pixel (the static itself: about 1); its picture by "
            f"**{result.picture_error:.1f}** grey levels of 255.")
