"""explorer.prompts.match_prompt: free text → a class of the current dataset, or None with a reason."""

from __future__ import annotations

import pytest

from explorer.prompts import MAX_PROMPT_CHARS, is_blank, match_prompt

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
    assert match.class_index is None and "chosen in the list" in match.explanation
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
