"""explorer.prompt_pairs.match_pair: two-class prompts ("a sneaker and a bag") read into two classes, bad ones
refused with a message that says why."""

from __future__ import annotations

import pytest

from explorer.data import dataset_info
from explorer.prompt_pairs import match_pair


@pytest.mark.parametrize("dataset, text, classes", [
    ("fashion", "", (7, 8)),
    ("fashion", None, (7, 8)),
    ("mnist", "", (3, 8)),
    ("fashion", "A sneaker AND a Bag", (7, 8)),
    ("fashion", "ankle boots, a t-shirt", (9, 0)),
    ("mnist", "three & eight", (3, 8)),
    ("mnist", "a 3 and an 8", (3, 8)),
    ("fashion", "a dress with a coat", (3, 4)),
])
def test_two_class_prompts(dataset, text, classes):
    match = match_pair(dataset, text)
    assert match.classes == classes
    names = dataset_info(dataset).class_names
    assert f"{names[classes[0]]} and {names[classes[1]]}" in match.explanation


@pytest.mark.parametrize("dataset, text, message", [
    ("fashion", "a sneaker", "Name two Fashion classes joined by 'and'"),
    ("fashion", "a sneaker and a bag and a dress", "has 3 parts"),
    ("fashion", "a sneaker and a horse", "'a horse' names none of the 10 Fashion classes"),
    ("fashion", "bag and bags", "Both halves"),
    ("mnist", "a sneaker and a bag", "names none of the 10 Digits classes"),
    ("fashion", "x" * 500, "too long"),
    ("fashion", 7, "must be text"),
])
def test_bad_two_class_prompts(dataset, text, message):
    with pytest.raises(ValueError, match=message):
        match_pair(dataset, text)
