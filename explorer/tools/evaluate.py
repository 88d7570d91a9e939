"""``evaluate``: measured quality of the shipped models, written into their model cards.

Owns: the real reference sets (test images, and a same-size train subset for the real-vs-real
floor), scoring a set of generated images with the judge, and the measurements the cards and the
app show: quality at the defaults, the guidance-scale sweep, the steps sweep, the guidance-interval
sweep, the judge's accuracy.
Trains nothing.
Does not know: the UI; how images are generated beyond calling ``explorer.pictures``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace

import numpy as np
import torch

from explorer import cards, checkpoints, denoiser, pictures, registry, sampling
from explorer.data import dataset_info, load_split, to_model_range
from explorer.guidance import GuidanceSteps
from explorer.metrics import frechet_distance, judge_outputs, recognition_rate, within_class_variety


def _per_class_subset(images: np.ndarray, labels: np.ndarray, per_class: int, offset: int = 0):
    picks = np.concatenate([np.flatnonzero(labels == c)[offset:offset + per_class] for c in np.unique(labels)])
    return to_model_range(images[picks]), torch.from_numpy(labels[picks])


def real_reference(dataset: str, per_class: int, data_dir: str | None = None) -> dict:
    """Judge outputs for ``per_class`` test images of every class and a disjoint same-size train set."""
    judge = registry.get(dataset, "judge").network
    test_x, test_y = _per_class_subset(*load_split(dataset, "test", data_dir), per_class)
    train_x, train_y = _per_class_subset(*load_split(dataset, "train", data_dir), per_class)
    _, test_f = judge_outputs(judge, test_x)
    train_p, train_f = judge_outputs(judge, train_x)
    return {"test_features": test_f, "test_labels": test_y, "train_features": train_f, "train_labels": train_y,
            "frechet_real_vs_real": frechet_distance(train_f, test_f),
            "variety_real": within_class_variety(test_f, test_y),
            "recognition_real_train": recognition_rate(train_p, train_y)}


def score(dataset: str, images: torch.Tensor, labels: torch.Tensor, reference: dict) -> dict:
    """Recognition, Fréchet distance (and its ratio to the real floor) and variety ratio of ``images``."""
    judge = registry.get(dataset, "judge").network
    probs, feats = judge_outputs(judge, images)
    fd = frechet_distance(feats, reference["test_features"])
    variety = within_class_variety(feats, labels)
    return {
        "n_images": int(len(images)),
        "recognition": round(recognition_rate(probs, labels), 4),
        "frechet": round(fd, 3),
        "frechet_real_vs_real": round(reference["frechet_real_vs_real"], 3),
        "frechet_ratio": round(fd / reference["frechet_real_vs_real"], 3),
        "variety": round(variety, 4),
        "variety_real": round(reference["variety_real"], 4),
        "variety_ratio": round(variety / reference["variety_real"], 4),
    }


def _class_labels(dataset: str, per_class: int) -> list[int]:
    return np.repeat(np.arange(dataset_info(dataset).num_classes), per_class).tolist()


def evaluate_settings(dataset: str, family: str, per_class: int, reference: dict, seed: int = 0,
                      settings: sampling.SamplingSettings = sampling.DEFAULTS) -> dict:
    labels = _class_labels(dataset, per_class)
    start = time.perf_counter()
    imgs = pictures.images(dataset, family, labels, seed, settings)
    seconds = time.perf_counter() - start
    result = score(dataset, imgs, torch.tensor(labels), reference)
    result["generation_seconds"] = round(seconds, 2)
    result["seed"] = seed
    if family in denoiser.FAMILIES:
        result["settings"] = _settings_record(settings, denoiser.get(dataset, family=family))
        result["precision"] = denoiser.get(dataset, family=family).precision
    return result


def _settings_record(settings: sampling.SamplingSettings, model: denoiser.Denoiser) -> dict:
    """The settings a row was made with, as the card stores them: where guidance applied as the interval it
    resolved to on ``model`` ((lo, hi); None: every step)."""
    return {"sampler": settings.sampler, "steps": settings.steps, "guidance": settings.guidance, "eta": settings.eta,
            "guidance_interval": model.interval(settings.guidance_steps), "clip_x0": settings.clip_x0}


def guidance_sweep(dataset: str, scales: list[float], per_class: int, reference: dict, seed: int = 0) -> list[dict]:
    return [{"guidance": s, **evaluate_settings(dataset, "diffusion", per_class, reference, seed,
                                                 settings=replace(sampling.DEFAULTS, guidance=s))}
            for s in scales]


def steps_sweep(dataset: str, steps_list: list[int], per_class: int, reference: dict, seed: int = 0) -> list[dict]:
    return [{"steps": k, **evaluate_settings(dataset, "diffusion", per_class, reference, seed,
                                              settings=replace(sampling.DEFAULTS, steps=k))}
            for k in steps_list]


def interval_sweep(dataset: str, scales: list[float], highs: list[int], per_class: int, reference: dict,
                   seed: int = 0) -> Iterator[dict]:
    """For each scale s and upper end hi: the scores with s applied only for 0 ≤ t ≤ hi (one row at a time)."""
    for scale in scales:
        for hi in highs:
            settings = replace(sampling.DEFAULTS, guidance=scale, guidance_steps=GuidanceSteps.between(0, hi))
            yield {"guidance": scale, "interval": [0, hi],
                   **evaluate_settings(dataset, "diffusion", per_class, reference, seed, settings)}


RECOGNITION_TARGET = {"fashion": 0.95, "mnist": 0.97}  # the engine targets: share the judge recognises
FRECHET_TARGET = 3.0  # Fréchet distance at most this many times the real-vs-real floor


def interval_margin(row: dict, recognition_target: float) -> float:
    """How far one row is inside both targets, each as a share of its headroom: recognition between the
    target and 1, the Fréchet ratio between the target and the real floor (1). Negative: a target missed."""
    return min((row["recognition"] - recognition_target) / (1 - recognition_target),
               (FRECHET_TARGET - row["frechet_ratio"]) / (FRECHET_TARGET - 1))


def choose_interval(dataset: str, rows: list[dict], scale: float = sampling.DEFAULTS.guidance) -> dict:
    """The interval whose worst row over seeds, at the app's guidance ``scale``, has the widest margin (ties:
    the best mean margin).

    ``rows`` are ``interval_sweep`` rows (guidance, interval, seed, recognition, frechet_ratio, …); rows of
    other scales are ignored. A ValueError when no interval meets both targets for every seed measured.
    """
    target = RECOGNITION_TARGET[dataset]
    groups: dict[tuple, list[dict]] = {}
    for row in rows:
        if row["guidance"] == scale:
            groups.setdefault((row["guidance"], tuple(row["interval"])), []).append(row)
    if not groups:
        raise ValueError(f"The grid has no rows at the app's guidance scale s = {scale:g}.")
    scored = {key: (min(m), sum(m) / len(m)) for key, group in groups.items()
              for m in [[interval_margin(r, target) for r in group]]}
    best = max(scored, key=scored.get)
    if scored[best][0] < 0:
        raise ValueError(f"No guidance interval meets both targets (recognition ≥ {target}, Fréchet ≤ "
                         f"{FRECHET_TARGET:g}× the floor) for every seed measured.")
    return {"guidance": best[0], "interval": list(best[1]), "worst_margin": round(scored[best][0], 3),
            "mean_margin": round(scored[best][1], 3), "rows": groups[best]}


def measured_grid(dataset: str, section: str) -> list[dict]:
    """The interval grid already measured in ``section`` of the diffusion model's metrics.json (seed 0 where
    a row does not name one)."""
    folder = registry.MODEL_STORE / registry.model_name(dataset, "diffusion")
    grid = cards.read_metrics(folder).get(section)
    if not isinstance(grid, dict) or not grid.get("rows"):
        raise ValueError(f"{folder}/metrics.json has no interval grid in section {section!r}.")
    return [{**row, "seed": row.get("seed", 0)} for row in grid["rows"]]


def write_interval(dataset: str, rows: list[dict], command: str, machine: str,
                   grid_section: str = "guidance_interval_grid", store_grid: bool = True) -> dict:
    """Store the grid in the card's ``grid_section`` (unless ``store_grid`` is False: it came from there) and
    the chosen interval in the model's config (the app reads it there)."""
    choice = choose_interval(dataset, rows)
    folder = registry.MODEL_STORE / registry.model_name(dataset, "diffusion")
    if store_grid:
        cards.merge_metrics(folder, grid_section, {"machine": machine, "command": command, "rows": rows})
    scores = "; ".join(f"seed {r['seed']}: recognition {r['recognition']:.3f}, Fréchet {r['frechet_ratio']:.2f}× "
                       f"the floor" for r in choice["rows"])
    sampling_section = {
        "guidance_interval": choice["interval"],
        "why": (f"Written by `{command}` on {machine}: of the measured grid ({grid_section} in "
                f"metrics.json), s = {choice['guidance']:g} applied for t in {choice['interval']} leaves the widest "
                f"margin on both targets over every seed measured ({scores}). Margin = the smaller of "
                f"(recognition − {RECOGNITION_TARGET[dataset]}) / (1 − {RECOGNITION_TARGET[dataset]}) and "
                f"({FRECHET_TARGET:g} − Fréchet ratio) / {FRECHET_TARGET - 1:g}; worst {choice['worst_margin']}, "
                f"mean {choice['mean_margin']}."),
        "written_by": command,
    }
    checkpoints.write_sampling(folder, sampling_section)
    cards.write_card(folder)
    return sampling_section


def judge_accuracy(dataset: str, data_dir: str | None = None) -> dict:
    judge = registry.get(dataset, "judge").network
    images, labels = load_split(dataset, "test", data_dir)
    probs, _ = judge_outputs(judge, to_model_range(images))
    return {"test_accuracy": round(recognition_rate(probs, torch.from_numpy(labels)), 4), "n_test": int(len(labels))}


def write(dataset: str, family: str, section: str, values) -> None:
    """Store a measurement in the model's metrics.json and re-render its card."""
    folder = registry.MODEL_STORE / registry.model_name(dataset, family)
    cards.merge_metrics(folder, section, values)
