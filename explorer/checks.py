"""The parsers of request values, and display constants every entry point shares (CLI, demos, app).

Owns: the one family of parsers a request's numbers go through once, at the demo (or command-line) boundary:
``whole_number`` and ``number_between`` (a value in a range, else a ValueError that names the setting and its
range), ``check_seed`` (the seed range), and ``finite_number`` beneath them (a number given as text is read
strictly: plain ASCII decimal notation such as "10", "-1.5" or "2e3"; "1_0", "١٠", "nan", "inf" are not
numbers); and how a noise picture is scaled for display. What a parser returns is trusted below it.
Does not know: domain ranges (the guidance scale's is explorer.guidance.check_guidance, the sampler's, step
count's and η's explorer.samplers' check_*: each one line on this family), models, the UI.
"""

from __future__ import annotations

import math
import re

import numpy as np

MAX_SEED = 2 ** 63 - 1  # what a torch.Generator accepts
NOISE_DISPLAY_SCALE = 3.0  # a noise picture shows −3 … +3 as black … white, 0 as mid-grey
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")  # what a person types
_INTEGER = re.compile(r"[+-]?[0-9]+")
_MAX_NUMBER_CHARS = 100  # longer text is no number a person means (and Python refuses int() of 4,300 digits)
_MAX_ECHO_CHARS = 60  # how much of a refused value a message repeats


def finite_number(value) -> float | None:
    """``value`` as a finite float, or None for anything else (None, bool, NaN, ∞, too big, bytes, a list,
    text that is not a plain decimal number: Python's float() would take "1_0" as 10 and "١٠" as 10)."""
    number = _exact_number(value)
    if number is None:
        return None
    try:
        number = float(number)
    except OverflowError:  # an int beyond a float's range
        return None
    return number if math.isfinite(number) else None


def whole_number(value, what: str, low: int, high: int, meaning: str = "") -> int:
    """``value`` as an int in low … high, else a ValueError naming ``what`` (and what it means).

    1.5 is refused, never rounded; an int (or text of one) is compared exactly, even beyond a float's
    53 bits (2⁶³−1 is a valid seed, 2⁶³ is not).
    """
    number = _exact_number(value)
    if isinstance(number, float) and math.isfinite(number) and number.is_integer():
        number = int(number)
    if not isinstance(number, int) or not low <= number <= high:
        why = f" ({meaning});" if meaning else ","
        raise ValueError(f"{what} must be a whole number from {low} to {high}{why} got {echo(value)}.")
    return number


def number_between(value, what: str, low: float, high: float) -> float:
    """``value`` as a finite float in low … high, else a ValueError naming ``what`` and the range (a number out of
    range is written as %g: 1e9 as 1e+09)."""
    number = finite_number(value)
    if number is None or not low <= number <= high:
        got = echo(value) if number is None else f"{number:g}"
        raise ValueError(f"{what} must be a number between {low:g} and {high:g}, got {got}.")
    return number


def check_seed(seed) -> int:
    """A whole number in 0 … 2⁶³−1 (what a torch.Generator accepts), else a ValueError."""
    return whole_number(seed, "Seed", 0, MAX_SEED)


def _exact_number(value) -> int | float | None:
    """An int (exact) or a float (maybe NaN or ∞) for a real number or the text of one, else None."""
    if isinstance(value, (bool, np.bool_)):
        return None
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        if len(text) > _MAX_NUMBER_CHARS:
            return None
        if _INTEGER.fullmatch(text):
            return int(text)
        return float(text) if _DECIMAL.fullmatch(text) else None
    if isinstance(value, (bytes, bytearray, memoryview)):
        return None
    try:
        return float(value)
    except (TypeError, ValueError, OverflowError):
        return None


def echo(value) -> str:
    """``repr(value)`` for a message, cut to a readable length (an int of 5,000 digits has no repr at all)."""
    try:
        text = repr(value)
    except ValueError:  # Python will not write out an int of more than 4,300 digits
        return "a number too long to write out"
    return text if len(text) <= _MAX_ECHO_CHARS else text[:_MAX_ECHO_CHARS - 1] + "…"
