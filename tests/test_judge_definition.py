"""The judge is defined once for the whole app (explorer.demos.judge.definition), with its measured accuracies."""

from __future__ import annotations

from explorer.demos import judge


def test_the_judge_is_defined_once_with_both_measured_accuracies():
    text = judge.definition()
    for key in ("fashion", "mnist"):
        assert f"{judge.accuracy(key):.1%}" in text
