"""What the tabs say about the judge, the small classifier that scores the pictures.

Owns: the plain sentence that introduces the judge where a tab first uses it, with its measured
accuracy read from the judge's model card (``metrics.json``; "not measured yet" when absent).
Does not know: the UI, how the judge was trained (explorer.recipes.judge) or how it scores
(explorer.metrics).
"""

from __future__ import annotations

from explorer import cards, registry
from explorer.data import dataset_info


def accuracy(dataset: str) -> float | None:
    """The judge's share of real test pictures named correctly, from its card; None if not measured."""
    measured = cards.read_metrics(registry.MODEL_STORE / registry.model_name(dataset, "judge")).get("accuracy")
    value = measured.get("test_accuracy") if isinstance(measured, dict) else None
    return float(value) if isinstance(value, (int, float)) else None


def introduction(dataset: str) -> str:
    """One or two plain sentences: what the judge is and how often it is right on real pictures."""
    info = dataset_info(dataset)
    right = accuracy(info.key)
    score = (f"it names {right:.1%} of real {info.title} test pictures correctly" if right is not None
             else "its accuracy on real test pictures is not measured yet")
    return (f"**The judge** is a separate small network, trained only to say which of the {info.num_classes} "
            f"classes a picture shows ({score}). It never helps make a picture; it only scores them.")
