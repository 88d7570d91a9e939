"""Checks and display constants every entry point shares (CLI, demos, app).

Owns: the seed range and its check, "a whole number in a range" with a message that names the
setting, a finite number, and how a noise picture is scaled for display.
Does not know: domain rules (guidance scales live in explorer.guidance, samplers and step counts in
explorer.samplers against the model's own schedule), models, the UI.
"""

from __future__ import annotations

import math

import numpy as np

MAX_SEED = 2 ** 63 - 1  # what a torch.Generator accepts
NOISE_DISPLAY_SCALE = 3.0  # a noise picture shows −3 … +3 as black … white, 0 as mid-grey


def finite_number(value) -> float | None:
    """``value`` as a finite float, or None for anything else (None, text, bool, NaN, ∞, too big)."""
    if isinstance(value, (bool, np.bool_)):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def whole_number(value, what: str, low: int, high: int, meaning: str = "") -> int:
    """``value`` as an int in low … high, else a ValueError naming ``what`` (and what it means)."""
    number = finite_number(value)
    if number is None or not number.is_integer() or not low <= number <= high:
        why = f" ({meaning});" if meaning else ","
        raise ValueError(f"{what} must be a whole number from {low} to {high}{why} got {value!r}.")
    return int(number)


def check_seed(seed) -> int:
    """A whole number in 0 … 2⁶³−1 (what a torch.Generator accepts), else a ValueError."""
    message = f"Seed must be a whole number from 0 to {MAX_SEED}, got {seed!r}."
    if isinstance(seed, (bool, np.bool_)) or (isinstance(seed, float) and not seed.is_integer()):
        raise ValueError(message)
    try:
        value = int(seed)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(message) from None
    if not 0 <= value <= MAX_SEED:
        raise ValueError(message)
    return value
