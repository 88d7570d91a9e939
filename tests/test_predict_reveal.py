"""The browser code of a predict-then-reveal question (explorer.ui.predict_reveal), run in Node.js: picking
records the guess and says what to do, with no answer in it; only the reveal, which the tabs chain after
their demo's run, says right or wrong and explains; without a guess both keep asking for one.
The wiring of every question to its demo's run is checked against the served app in
test_app_predict_reveal.py, and the whole sequence in a browser in test_browser_remove_noise.py."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from explorer.ui import predict_reveal

NODE = shutil.which("node")
ASKED = predict_reveal.Question(radio=None, verdict=None, answer="Blurry",
                                explanation="An average of many pictures is \"blurry\".", action="press **Generate**")


def _run(js: str, guess) -> str:
    """What the browser function ``js`` returns for ``guess`` (None = no choice made)."""
    script = f"process.stdout.write(JSON.stringify(({js})({json.dumps(guess)})));"
    return json.loads(subprocess.run([NODE, "-e", script], capture_output=True, text=True, check=True).stdout)


pytestmark = pytest.mark.skipif(NODE is None, reason="Node.js is needed to run the question's browser code")


def test_picking_records_the_guess_and_gives_nothing_away():
    picked = _run(predict_reveal.pick_js(ASKED), "Sharp")
    assert picked.startswith("Your guess: **Sharp**. Now press **Generate** and watch.")
    assert "Right" not in picked and "Not quite" not in picked and "average" not in picked


def test_the_reveal_says_right_or_wrong_and_explains():
    assert _run(predict_reveal.reveal_js(ASKED), "Blurry") == f"{predict_reveal.RIGHT} {ASKED.explanation}"
    wrong = _run(predict_reveal.reveal_js(ASKED), "Sharp")
    assert wrong == f"{predict_reveal.WRONG.format(answer='Blurry')} {ASKED.explanation}"


@pytest.mark.parametrize("make_js", [predict_reveal.pick_js, predict_reveal.reveal_js])
def test_without_a_guess_the_verdict_asks_for_one(make_js):
    waiting = predict_reveal.WAITING.format(action="press **Generate**")
    assert _run(make_js(ASKED), None) == _run(make_js(ASKED), "") == waiting


def test_the_answer_must_be_a_choice():
    with pytest.raises(ValueError, match="not one of the choices"):
        predict_reveal.question("?", ["a", "b"], "c", "", action="press **Go**")
