"""The Mistakes tab's words (explorer.ui.mistakes_tab), without a server: the Impossible-requests opening names what
was asked and holds back what the judge found (it answers the question beside it, and keeps the demo's first
screen short); a student's own run says it all."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from explorer.ui import mistakes_tab, predict_reveal


def _result(**changes) -> SimpleNamespace:
    both = np.array([[0.1, 0.95, 0.05], [0.8, 0.1, 0.1], [0.3, 0.3, 0.4]])  # (3 seeds, 3 classes), told both
    values = dict(class_names=("Sneaker", "Bag"), classes=(0, 1), scale=3.0, cached=False, seconds=1.25,
                  explanation="No prompt: the example 'a sneaker and a bag' → Sneaker and Bag.",
                  probs=np.stack([both, both, both]))
    return SimpleNamespace(**{**values, **changes})


def test_the_opening_names_the_request_and_holds_back_the_judges_findings():
    opening = mistakes_tab._pair_summary(_result(), measured=False)
    assert opening == f"**Asked:** Sneaker and Bag, s = 3.\n\n{predict_reveal.held_back()}"
    assert "judge" not in opening and "Made in" not in opening


def test_a_students_own_run_says_what_the_judge_found():
    summary = mistakes_tab._pair_summary(_result())
    assert summary.startswith("**Asked:** No prompt: the example") and "Made in 1.2 s." in summary
    assert "Told both, the judge names Sneaker: 1, Bag: 1, another class: 1; unsure (below 90%) of 2." in summary
    assert "Answered from the cache." in mistakes_tab._pair_summary(_result(cached=True))
