"""What the tabs say about the judge, the small classifier that scores the pictures.

Owns: the plain sentences that define the judge once for the whole app ("Words used here"), with its measured
accuracy on each dataset read from the judge's model card (``metrics.json``; left out when not measured).
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


def definition() -> str:
    """What the judge is and how often it is right on real pictures of each dataset: the app says it once."""
    scores = [f"{right:.1%} of real {dataset_info(key).title} test pictures" for key in ("fashion", "mnist")
              if (right := accuracy(key)) is not None]
    score = f" (it names {' and '.join(scores)} correctly)" if scores else ""
    return (f"**The judge** is a separate small network, trained only to say which class a picture shows{score}. It "
            "never helps make a picture; it only scores them.")
