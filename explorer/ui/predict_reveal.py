"""Predict, then reveal: a multiple-choice question whose answer appears once the student has picked.

Owns: the widgets of one question (a radio of choices and a markdown that stays closed until a choice
is made) and the browser-side code that fills in the verdict and the explanation.
Does not know: any maths or demo; it runs nothing on the server and stores nothing there — the
choice lives in the student's page only, and the answer is written into that page by JavaScript.
"""

from __future__ import annotations

import json

import gradio as gr

WAITING = "*Pick an answer first — then run the demo and see who was right.*"
RIGHT = "✅ **Right.**"
WRONG = "❌ **Not quite — the answer is: {answer}.**"
QUESTION = "predict-question"  # elem_classes of every question (the browser tests look it up)


def question(prompt: str, choices: list[str], answer: str, explanation: str) -> None:
    """A question inside the current Blocks context: the student picks one of ``choices``; the page
    then says whether it is ``answer`` and shows ``explanation`` (markdown). No server call, no state."""
    if answer not in choices:
        raise ValueError(f"The answer {answer!r} is not one of the choices {choices}.")
    with gr.Group(elem_classes=[QUESTION]):
        gr.Markdown(f"**Predict first:** {prompt}")
        radio = gr.Radio(choices, value=None, label="Your guess", show_label=False)
        verdict = gr.Markdown(WAITING)
    radio.change(None, inputs=radio, outputs=verdict, js=_reveal_js(answer, explanation),
                 queue=False, show_progress="hidden")


def _reveal_js(answer: str, explanation: str) -> str:
    """Browser code: the chosen value → the verdict markdown (strings embedded as JSON literals)."""
    right = json.dumps(f"{RIGHT} {explanation}")
    wrong = json.dumps(f"{WRONG.format(answer=answer)} {explanation}")
    return (f"(choice) => {{ if (choice === null || choice === undefined || choice === '') "
            f"return {json.dumps(WAITING)}; return choice === {json.dumps(answer)} ? {right} : {wrong}; }}")
