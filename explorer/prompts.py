"""Free-text prompts → a class of the current dataset (the models know only 10 classes each).

Owns: the words that name each class ("sneakers", "an ankle boot", "jeans", "the number 7", "seven"…), how
text is normalised before matching (case, punctuation and hyphens ignored, plural "s"/"es" tolerated, whole
words only; a lone surrogate, not valid UTF-8, becomes "�"), the rule "the longest match wins" (so "t-shirt"
is not "shirt" and "ankle boot" is one class), the sentence that tells a student what happened, and
``as_text``: a student's words made safe to echo inside Markdown (shown as typed, never as links, pictures or
HTML).
Does not know: models, sampling, the UI. A prompt that names nothing gives ``class_index=None``;
the caller decides what that means (the Remove-noise demo runs unconditionally).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from explorer.data import DATASETS, DatasetInfo, dataset_info

MAX_PROMPT_CHARS = 200
_SURROGATE = re.compile("[\ud800-\udfff]")  # half of a UTF-16 pair: not a character
_MARKDOWN_PUNCTUATION = frozenset(r"""!"#$%&'()*+,-./:;<=>?@[\]^_`{|}~""")  # what CommonMark lets "\" escape
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")  # would reorder our sentence

# Phrases in normalised form (lower case, words separated by one space), singular; plurals are tolerated.
_FASHION_WORDS: dict[str, int] = {
    "t shirt": 0, "tshirt": 0, "tee": 0, "tee shirt": 0, "top": 0, "tank top": 0,
    "trouser": 1, "pants": 1, "jeans": 1, "slacks": 1, "leggings": 1,
    "pullover": 2, "sweater": 2, "jumper": 2, "sweatshirt": 2, "hoodie": 2, "cardigan": 2,
    "dress": 3, "gown": 3,
    "coat": 4, "jacket": 4, "overcoat": 4, "raincoat": 4,
    "sandal": 5, "flip flop": 5,
    "shirt": 6, "blouse": 6, "dress shirt": 6,
    "sneaker": 7, "trainer": 7, "running shoe": 7,
    "bag": 8, "handbag": 8, "purse": 8, "backpack": 8, "tote": 8,
    "ankle boot": 9, "boot": 9,
}
_DIGIT_NAMES = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
_DIGIT_WORDS: dict[str, int] = {**{str(d): d for d in range(10)}, **{w: d for d, w in enumerate(_DIGIT_NAMES)},
                                "nought": 0, "naught": 0}
VOCABULARY: dict[str, dict[str, int]] = {"fashion": _FASHION_WORDS, "mnist": _DIGIT_WORDS}


@dataclass(frozen=True)
class PromptMatch:
    class_index: int | None  # None: the text names no class of the dataset (or is empty)
    explanation: str  # one or two sentences for the student


def match_prompt(dataset: str, text: str | None) -> PromptMatch:
    """The class of ``dataset`` that ``text`` names, and why; None when it names none."""
    info = dataset_info(dataset)
    text = _checked_text(text)
    words = _words(text)
    if is_blank(text):
        return PromptMatch(None, "No prompt: the chosen class is used.")
    found = _best_matches(words, VOCABULARY[info.key])
    if not found:
        return PromptMatch(None, _no_match(info, text, words))
    first, others = found[0], [c for c in found[1:] if c != found[0]]
    explanation = f"'{as_text(text)}' → {info.class_names[first]} (class {first} of {info.title})."
    if others:
        also = ", ".join(info.class_names[c] for c in dict.fromkeys(others))
        explanation += (f" It also names {also}: here the first one is used. To ask for both at once, try Mistakes →"
                        " Impossible requests.")
    return PromptMatch(first, explanation)


def is_blank(text: str | None) -> bool:
    """True when ``text`` has no letter or digit: then there is no prompt, only the chosen class."""
    return not _words(text or "")


def _checked_text(text) -> str:
    if text is None:
        return ""
    if not isinstance(text, str):
        raise ValueError(f"The prompt must be text, got {type(text).__name__}.")
    if len(text) > MAX_PROMPT_CHARS:
        raise ValueError(f"The prompt is too long ({len(text)} characters); "
                         f"a few words are enough (at most {MAX_PROMPT_CHARS}).")
    return valid_text(text)


def valid_text(text: str) -> str:
    """``text`` with every lone surrogate (half an emoji, sent by a broken client) replaced by "�".

    Such a string is not valid UTF-8: echoed back in an explanation it would break the user's event stream.
    """
    return _SURROGATE.sub("\ufffd", text)


def as_text(text) -> str:
    """A student's words to echo inside Markdown (gr.Markdown): shown exactly as text, never as markup.

    Every ASCII punctuation mark is backslash-escaped (CommonMark's own escape), so "![x](http://…)"
    fetches no picture, "<script>" and "<b>" show as typed, "*", "_", "#", "|" make no emphasis,
    heading or table, and no URL becomes a link; "$$" gets an invisible break (U+200B) so no LaTeX is
    typeset; whitespace, line breaks and control characters become single spaces (no paragraphs,
    lists or code blocks); direction overrides are dropped and a lone surrogate becomes "�".
    """
    text = valid_text(str(text))
    text = "".join(" " if unicodedata.category(ch) == "Cc" else ch for ch in text if ch not in _BIDI_CONTROLS)
    text = " ".join(text.split())
    shown = []
    for i, ch in enumerate(text):
        shown.append("\\" + ch if ch in _MARKDOWN_PUNCTUATION else ch)
        if ch == "$" and text[i + 1:i + 2] == "$":
            shown.append("\u200b")
    return "".join(shown)


def _words(text: str) -> list[str]:
    """ "An Ankle-Boot!" → ["an", "ankle", "boot"]: lower case, anything but letters and digits splits."""
    return re.findall(r"[a-z0-9]+", text.lower())


def _same_word(word: str, vocabulary_word: str) -> bool:
    """``word`` is ``vocabulary_word`` or its plural ("boots", "dresses", "7s")."""
    return word in (vocabulary_word, vocabulary_word + "s", vocabulary_word + "es")


def _matches_at(words: list[str], start: int, phrase: list[str]) -> bool:
    end = start + len(phrase)
    return end <= len(words) and all(_same_word(w, p) for w, p in zip(words[start:end], phrase))


def _best_matches(words: list[str], vocabulary: dict[str, int]) -> list[int]:
    """Classes named in ``words``, in reading order, keeping only the longest phrase at each place.

    A phrase hides the shorter ones inside it ("t shirt" hides "shirt", "ankle boot" hides "boot").
    """
    phrases = sorted(((p.split(), c) for p, c in vocabulary.items()), key=lambda pc: -len(pc[0]))
    found, covered = [], set()
    for start in range(len(words)):
        for phrase, cls in phrases:
            span = set(range(start, start + len(phrase)))
            if not span & covered and _matches_at(words, start, phrase):
                found.append((start, cls))
                covered |= span
                break
    return [cls for _, cls in sorted(found)]


def _no_match(info: DatasetInfo, text: str, words: list[str]) -> str:
    kind = "piece of clothing" if info.key == "fashion" else "digit"
    explanation = (f"'{as_text(text)}' is not one of the {info.num_classes} {info.title} classes "
                   f"({', '.join(info.class_names)}), so the model runs unconditionally (guidance off): "
                   f"it makes whatever {kind} it finds plausible from the static.")
    for other in DATASETS.values():
        if other.key != info.key and _best_matches(words, VOCABULARY[other.key]):
            explanation += f" It names a {other.title} class: switch the pictures to {other.title} to draw one."
    return explanation


def with_article(name: str) -> str:
    """A class name after "a" or "an", as it is said: "a T-shirt/top", "an Ankle boot", "a one", "an eight", "an 8".

    "an" before a vowel sound: a vowel letter (not the "w" of "one" or the "y" of "uni…", "use…",
    "eu…"), or a number said with one (8…, 11, 18).
    """
    word = name.strip().lower()
    vowel_sound = (word[:1] in ("a", "e", "i", "o", "u") and not word.startswith(("one", "uni", "use", "eu"))
                   or word.startswith("8") or word in ("11", "18"))
    return f"{'an' if vowel_sound else 'a'} {name}"
