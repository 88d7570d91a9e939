"""Predict, then reveal: a multiple-choice question whose answer appears once its demo has run.

Owns: the widgets of one question (a radio of choices and a verdict markdown) and the browser-side
code that fills the verdict: picking a choice only records the guess and says what to do to run the
demo (which also hides an earlier answer); when the demo's run ends well, the verdict says whether the
guess was right and explains. Without a guess the verdict keeps asking for one. Also ``why``: a closed
section, put after a question, for the lesson text that would give its answer away if it stood before it.
Does not know: any maths or demo, nor which events run the demo (the tab passes them to
``Question.reveal_after``). It runs nothing on the server and stores nothing there: the guess lives in
the student's page only, and the verdict is written into that page by JavaScript.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import gradio as gr

WAITING = "*Guess, then {action}.*"
PICKED = "Your guess: **{guess}**. Now {action} and watch. The answer shows once the demo has run."
RIGHT = "✓ **Right.**"  # ✓ and ✗ are in common text fonts; an emoji (✅) is an empty box without an emoji font
WRONG = "✗ **Not quite — the answer is: {answer}.**"
QUESTION = "predict-question"  # elem_classes of every question (the browser tests look it up)
VERDICT = "predict-verdict"  # elem_classes of every question's verdict
LIGHT = dict(queue=False, show_progress="hidden")  # browser-only events: no queue, no spinner
COVERED = "awaits-guess-{n}"  # elem_classes of a result that stays blurred until question n has a guess
GUESSED = "guessed-{n}"  # the page's class once question n has a guess
MAX_QUESTIONS = 32  # numbers of questions (the CSS below has a rule for each; an app has ~10, numbered in turn)
COVER_CSS = "".join(f"html:not(.{GUESSED.format(n=n)}) .{COVERED.format(n=n)} :is(img, .js-plotly-plot, .prose) "
                    "{ filter: blur(14px) grayscale(1); pointer-events: none; }\n" for n in range(MAX_QUESTIONS))
WHY = "Why (after guessing)"  # the title of every ``why`` section
HELD_BACK = "*Your own run shows the numbers.*"  # true before a guess and after it


@dataclass(frozen=True)
class Question:
    """One question on the page: its radio of choices and its verdict."""

    radio: gr.Radio
    verdict: gr.Markdown
    answer: str
    explanation: str
    action: str
    number: int = 0  # which COVERED / GUESSED class pair is this question's

    def covers(self, *components) -> None:
        """Keep ``components`` (the results that answer this question) blurred until a guess is picked."""
        for component in components:
            component.elem_classes = [*(component.elem_classes or []), COVERED.format(n=self.number)]

    def reveal_after(self, *events, when: gr.components.Component | None = None) -> None:
        """Show the verdict and the explanation when any of ``events`` (Gradio event dependencies that run
        the demo) has finished without an error; for a streaming event, once its last frame has come. With
        ``when`` (a checkbox), only after a run made with it ticked: the run that answers the question."""
        for event in events:
            if when is None:
                event.success(None, inputs=self.radio, outputs=self.verdict, js=reveal_js(self), **LIGHT)
            else:
                event.success(None, inputs=[self.radio, when, self.verdict], outputs=self.verdict,
                              js=reveal_when_js(self), **LIGHT)


def press(label: str) -> str:
    """The words for pressing the button labelled ``label`` (pass the button's own label)."""
    return f"press **{label}**"


def question(prompt: str, choices: list[str], answer: str, explanation: str, action: str) -> Question:
    """A question inside the current Blocks context. ``action`` (markdown) says what runs the demo that
    answers it, e.g. ``press(run.value)``; the tab then calls ``reveal_after`` with the events of that run."""
    if answer not in choices:
        raise ValueError(f"The answer {answer!r} is not one of the choices {choices}.")
    with gr.Group(elem_classes=[QUESTION]):
        gr.Markdown(f"**Predict first:** {prompt}")
        radio = gr.Radio(choices, value=None, label="Your guess", show_label=False)
        verdict = gr.Markdown(WAITING.format(action=action), elem_classes=[VERDICT])
    global _asked
    asked = Question(radio, verdict, answer, explanation, action, _asked % MAX_QUESTIONS)
    _asked += 1
    radio.change(None, inputs=radio, outputs=verdict, js=pick_js(asked), **LIGHT)
    return asked


_asked = 0  # questions made so far in this process: each gets its own number


def held_back() -> str:
    """The sentence an opening's summary shows instead of the measurements that answer a question (the
    question's own line says what runs the demo); the student's own run shows them."""
    return HELD_BACK


def why(text: str) -> gr.Accordion:
    """A closed section titled ``WHY`` holding ``text`` (markdown), inside the current Blocks context: for the
    lesson's findings that answer a question, so that the page states them only after the question."""
    with gr.Accordion(WHY, open=False) as section:
        gr.Markdown(text)
    return section


def pick_js(asked: Question) -> str:
    """Browser code: the chosen value → the verdict that records the guess (no answer yet)."""
    before, after = (json.dumps(part) for part in PICKED.format(action=asked.action, guess="\0").split("\0"))
    uncover = (f"globalThis.document?.documentElement.classList.add({json.dumps(GUESSED.format(n=asked.number))})")
    return _js(asked, f"({uncover}, {before} + guess + {after})")


def reveal_js(asked: Question) -> str:
    """Browser code: the chosen value → right or wrong, and the explanation."""
    right = json.dumps(f"{RIGHT} {asked.explanation}")
    wrong = json.dumps(f"{WRONG.format(answer=asked.answer)} {asked.explanation}")
    return _js(asked, f"(guess === {json.dumps(asked.answer)} ? {right} : {wrong})")


def reveal_when_js(asked: Question) -> str:
    """Browser code: (guess, ticked, verdict now) → the reveal when the run was made ticked, else the verdict now."""
    return f"(guess, ticked, now) => ticked ? ({reveal_js(asked)})(guess) : now"


def _js(asked: Question, guessed: str) -> str:
    """A browser function of the guess: ``guessed`` (a JavaScript expression) once there is one, and the
    request for one before."""
    waiting = json.dumps(WAITING.format(action=asked.action))
    return f"(guess) => (guess === null || guess === undefined || guess === '') ? {waiting} : {guessed}"
