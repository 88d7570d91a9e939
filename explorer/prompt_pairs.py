"""Prompts that name two classes at once ("a sneaker and a bag", "a 3 and an 8") → the two classes.

Owns: splitting such a prompt at its joining word ("and", "with", "plus", "&", "+", a comma), matching
each half with explorer.prompts (so the same words name the same classes as everywhere else), the
example pair of each dataset used when nothing is typed, and the sentence that tells the student
what was understood (the prompt in it escaped by explorer.prompts.as_text: shown as text, never as
Markdown). Anything else (one class, three, a half that names nothing, the same class twice) is a
ValueError that says what to type.
Does not know: models, guidance, the UI.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from explorer.data import dataset_info
from explorer.prompts import as_text, is_blank, match_prompt, valid_text

EXAMPLES = {"fashion": "a sneaker and a bag", "mnist": "a 3 and an 8"}
_JOINS = re.compile(r"\s*(?:\band\b|\bwith\b|\bplus\b|&|\+|,)\s*", re.IGNORECASE)


@dataclass(frozen=True)
class PairMatch:
    classes: tuple[int, int]
    text: str  # the prompt used (the example when nothing was typed)
    explanation: str


def match_pair(dataset: str, text: str | None) -> PairMatch:
    """The two classes ``text`` names (blank: the dataset's example pair), and why."""
    info = dataset_info(dataset)
    match_prompt(info.key, text)  # the project's checks of a prompt (type, length), before any splitting
    typed = not is_blank(text)
    used = valid_text(text.strip()) if typed else EXAMPLES[info.key]  # a lone surrogate would break the reply
    halves = [half for half in _JOINS.split(used) if not is_blank(half)]
    if len(halves) != 2:
        raise ValueError(f"Name two {info.title} classes joined by 'and', e.g. '{EXAMPLES[info.key]}'; "
                         f"'{used}' has {len(halves)} part{'s' if len(halves) != 1 else ''}.")
    classes = tuple(_one_class(info.key, half) for half in halves)
    if classes[0] == classes[1]:
        raise ValueError(f"Both halves of '{used}' name {info.class_names[classes[0]]}: name two different "
                         f"classes, e.g. '{EXAMPLES[info.key]}'.")
    names = " and ".join(info.class_names[c] for c in classes)
    why = f"'{as_text(used)}' → {names}." if typed else f"No prompt: the example '{used}' → {names}."
    return PairMatch(classes=classes, text=used, explanation=why)


def _one_class(dataset: str, half: str) -> int:
    info = dataset_info(dataset)
    match = match_prompt(dataset, half)
    if match.class_index is None:
        raise ValueError(f"'{half.strip()}' names none of the {info.num_classes} {info.title} classes "
                         f"({', '.join(info.class_names)}).")
    return match.class_index
