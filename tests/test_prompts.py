"""explorer.prompts.match_prompt: free text → a class of the current dataset, or None with a reason."""

from __future__ import annotations

import html
import re

import pytest
from markdown_it import MarkdownIt

from explorer.demos.guidance import _class_to_draw
from explorer.prompt_pairs import match_pair
from explorer.prompts import MAX_PROMPT_CHARS, as_text, is_blank, match_prompt

HOSTILE = [  # what a student (or a script) may type, and what each would do if rendered as Markdown/HTML
    "![x](http://127.0.0.1:9/x.png) sneaker",  # the browser would fetch a picture
    "<img src=http://127.0.0.1:9/y.png> bag",
    "<script>alert(1)</script> coat",  # would vanish from the echo
    "<b>bold</b> **strong** _em_ `code` dress",
    "# a heading\n\n- a list\n\n    code block sneaker",
    "[a link](javascript:alert(1)) <http://127.0.0.1:9/> www.example.com bag",
    "$$\\frac{1}{2}$$ coat",  # LaTeX that gr.Markdown would typeset
    "| a | b |\n|---|---|\n| c | d | sandal",
    "&amp; &lt;tag&gt; \\* back\\slash shirt",
    "\u202eevil\u202c tee",
]

FASHION = {"T-shirt/top": 0, "Trouser": 1, "Pullover": 2, "Dress": 3, "Coat": 4,
           "Sandal": 5, "Shirt": 6, "Sneaker": 7, "Bag": 8, "Ankle boot": 9}


@pytest.mark.parametrize("text, name", [
    ("a sneaker", "Sneaker"), ("sneakers", "Sneaker"), ("SNEAKERS!", "Sneaker"),
    ("an ankle boot", "Ankle boot"), ("Ankle-boots", "Ankle boot"), ("boot", "Ankle boot"), ("boots", "Ankle boot"),
    ("t-shirt", "T-shirt/top"), ("T shirt", "T-shirt/top"), ("tshirt", "T-shirt/top"), ("t-shirts", "T-shirt/top"),
    ("tee", "T-shirt/top"), ("a top", "T-shirt/top"), ("T-shirt/top", "T-shirt/top"),
    ("trousers", "Trouser"), ("pants", "Trouser"), ("blue jeans", "Trouser"),
    ("pullover", "Pullover"), ("a sweater", "Pullover"), ("jumper", "Pullover"),
    ("dress", "Dress"), ("dresses", "Dress"),
    ("coat", "Coat"), ("a jacket", "Coat"),
    ("sandal", "Sandal"), ("sandals", "Sandal"),
    ("shirt", "Shirt"), ("a shirt.", "Shirt"), ("shirts", "Shirt"),
    ("bag", "Bag"), ("handbag", "Bag"), ("a purse", "Bag"),
])
def test_fashion_words_name_their_class(text, name):
    match = match_prompt("fashion", text)
    assert match.class_index == FASHION[name]
    assert name in match.explanation


@pytest.mark.parametrize("text, digit", [
    ("7", 7), ("seven", 7), ("the number 7", 7), ("a 3", 3), ("Zero", 0), ("one", 1), ("two", 2),
    ("three", 3), ("four", 4), ("five", 5), ("six", 6), ("eight", 8), ("NINE!", 9), ("sevens", 7),
])
def test_digits_and_number_words_name_their_digit(text, digit):
    assert match_prompt("mnist", text).class_index == digit


def test_the_longest_phrase_wins():
    assert match_prompt("fashion", "a t-shirt").class_index == FASHION["T-shirt/top"]  # not "shirt"
    assert match_prompt("fashion", "an ankle boot").class_index == FASHION["Ankle boot"]
    assert match_prompt("fashion", "a dress shirt").class_index == FASHION["Shirt"]  # not "dress"


def test_only_whole_words_match():
    assert match_prompt("fashion", "topology").class_index is None
    assert match_prompt("fashion", "bagel").class_index is None
    assert match_prompt("mnist", "17").class_index is None


def test_two_classes_use_the_first_and_say_so():
    match = match_prompt("fashion", "a bag and a coat")
    assert match.class_index == FASHION["Bag"]
    assert "Coat" in match.explanation and "first" in match.explanation


def test_unknown_text_runs_unconditionally_and_says_why():
    match = match_prompt("fashion", "a horse")
    assert match.class_index is None
    assert "'a horse' is not one of the 10 Fashion classes" in match.explanation
    assert "unconditionally" in match.explanation and "guidance off" in match.explanation


def test_a_class_of_the_other_dataset_is_pointed_out():
    digits = match_prompt("fashion", "the number 7")
    assert digits.class_index is None and "Digits" in digits.explanation
    clothes = match_prompt("mnist", "a sneaker")
    assert clothes.class_index is None and "Fashion" in clothes.explanation


@pytest.mark.parametrize("text", ["", "   ", None, "?!"])
def test_blank_text_means_the_chosen_class(text):
    match = match_prompt("fashion", text)
    assert match.class_index is None and "the chosen class" in match.explanation
    assert is_blank(text)


def test_bad_prompts_are_clear_errors():
    with pytest.raises(ValueError, match="too long"):
        match_prompt("fashion", "a" * (MAX_PROMPT_CHARS + 1))
    with pytest.raises(ValueError, match="must be text"):
        match_prompt("fashion", 7)
    with pytest.raises(ValueError, match="Known datasets"):
        match_prompt("cifar", "a cat")


def test_a_lone_surrogate_is_replaced_and_the_explanation_stays_valid_text():
    match = match_prompt("fashion", "a \ud800 sneaker")
    assert match.class_index == FASHION["Sneaker"]
    assert "\ufffd" in match.explanation
    match.explanation.encode("utf-8")  # would raise for a lone surrogate


def _rendered(markdown: str) -> str:
    """The HTML a CommonMark renderer (HTML allowed, as gr.Markdown's renderer before its sanitiser) makes."""
    return MarkdownIt("commonmark").render(markdown)


def _text_of(rendered: str) -> str:
    """The text a reader sees: tags dropped, entities decoded, the invisible break of "$$" removed."""
    return html.unescape(re.sub(r"<[^>]*>", "", rendered)).replace("\u200b", "").strip()


@pytest.mark.parametrize("typed", HOSTILE)
def test_a_prompt_echoed_in_markdown_shows_as_the_words_typed(typed):
    rendered = _rendered(f"**What was drawn:** '{as_text(typed)}' → a class.")
    assert re.findall(r"<(\w+)", rendered) == ["p", "strong"]  # no picture, link, script, heading, list, table, code
    assert "$$" not in html.unescape(rendered)  # no "$$ … $$" for gr.Markdown to typeset as LaTeX
    words = " ".join(typed.replace("\u202e", "").replace("\u202c", "").split())
    assert _text_of(rendered) == f"What was drawn: '{words}' → a class."


@pytest.mark.parametrize("typed", HOSTILE)
def test_every_sentence_that_echoes_a_prompt_escapes_it(typed):
    assert f"'{as_text(typed)}'" in match_prompt("fashion", typed).explanation  # names a class
    assert f"'{as_text(typed)}'" in match_prompt("mnist", typed).explanation  # names no digit
    no_digit = re.sub(r"[0-9]", "", typed)
    _, mapping = _class_to_draw("mnist", no_digit, "3")  # the guidance grid: no digit named, the chosen class used
    assert f"'{as_text(no_digit)}' names none" in mapping


@pytest.mark.parametrize("typed", ["![x](http://127.0.0.1:9/x.png) sneaker and <script>alert(1)</script> bag",
                                   "<img src=http://127.0.0.1:9/y.png> bag with **a coat**"])
def test_the_pair_sentence_escapes_the_prompt(typed):
    pair = match_pair("fashion", typed)
    assert pair.explanation.startswith(f"'{as_text(typed)}' → ")
    assert re.findall(r"<(\w+)", _rendered(pair.explanation)) == ["p"]


def test_as_text_leaves_plain_words_alone():
    assert as_text("  a  sneaker ") == "a sneaker"
    assert as_text("an ankle boot") == "an ankle boot"
    assert as_text("a \ud800 bag") == "a \ufffd bag"


@pytest.mark.parametrize("prompt", [["a"], ["a sneaker"], {"text": "a bag"}, 7, 2.5, True])
def test_a_prompt_that_is_not_text_is_refused_clearly(prompt):
    with pytest.raises(ValueError, match=f"The prompt must be text, got {type(prompt).__name__}"):
        match_prompt("fashion", prompt)
    with pytest.raises(ValueError, match=f"The prompt must be text, got {type(prompt).__name__}"):
        match_pair("fashion", prompt)
    with pytest.raises(ValueError, match=f"The prompt must be text, got {type(prompt).__name__}"):
        _class_to_draw("fashion", prompt, "Bag")


@pytest.mark.parametrize("typed", ["a \ud800 sneaker and a bag", "\udfff a sneaker & \ud83d a bag"])
def test_a_lone_surrogate_in_a_pair_prompt_gives_valid_text(typed):
    pair = match_pair("fashion", typed)
    assert pair.classes == (FASHION["Sneaker"], FASHION["Bag"])
    for text in (pair.text, pair.explanation):
        assert "\ufffd" in text
        text.encode("utf-8")  # would raise for a lone surrogate


@pytest.mark.parametrize("typed, message", [
    ("a \ud800 and a bag", "'a \ufffd' names none of the 10 Fashion classes"),
    ("a \ud800 sneaker", "'a \ufffd sneaker' has 1 part"),
    ("a \ud800 bag and a bag", "Both halves of 'a \ufffd bag and a bag' name Bag"),
])
def test_a_lone_surrogate_in_a_refused_pair_prompt_gives_a_valid_message(typed, message):
    with pytest.raises(ValueError, match=re.escape(message)) as error:
        match_pair("fashion", typed)
    str(error.value).encode("utf-8")


def test_a_lone_surrogate_in_a_prompt_that_names_nothing_gives_valid_text():
    assert "\ufffd" in match_prompt("fashion", "\ud800 horse").explanation
    _, mapping = _class_to_draw("fashion", "\ud800 horse", "Bag")
    assert "'\ufffd horse' names none" in mapping
    mapping.encode("utf-8")
