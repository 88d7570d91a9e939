"""The choices several demos read the same way (shared code, not a demo).

Owns: ``class_choice`` (a class name or index; None or "" = the dataset's first class) and ``seed_run`` (one seed
per picture, counting up from a first seed, all within the seed range).
Does not know: models, the UI.
"""

from __future__ import annotations

from explorer.checks import MAX_SEED, check_seed
from explorer.data import class_index, dataset_info


def class_choice(dataset: str, class_name) -> int:
    """The index of the class ``class_name`` names (a name or an index); None or "" = the first class."""
    info = dataset_info(dataset)
    return class_index(info, info.class_names[0] if class_name in (None, "") else class_name)


def seed_run(first_seed, count: int) -> tuple[int, ...]:
    """Seeds first_seed … first_seed + count − 1 (parsed: a ValueError when the first is not a seed or the last is
    past MAX_SEED)."""
    first = check_seed(first_seed)
    if first + count - 1 > MAX_SEED:
        raise ValueError(f"The first seed must be at most {MAX_SEED - count + 1} here ({count} seeds, counting up "
                         f"from it), got {first}.")
    return tuple(range(first, first + count))
