"""Model cards: the ``README.md`` of a model folder, rendered from its config and measurements.

Owns: reading/merging ``metrics.json`` (written by ``evaluate`` and ``bench``) and rendering the
card text. Every number in a card comes from those two files; nothing is typed in by hand.
Does not know: how models are trained, evaluated or timed.
"""

from __future__ import annotations

import json
from pathlib import Path

from explorer.checkpoints import CARD_FILE, read_config

METRICS_FILE = "metrics.json"

FAMILY_BLURB = {
    "diffusion": "Class-conditional denoising U-Net (one network gives both classifier-free guidance "
                 "branches: class id = number of classes is the null class).",
    "distilled": "The fast copy of the full diffusion model (guidance distillation): a U-Net with half its channels "
                 "(a quarter of its arithmetic per call) taught to give, in one network call, the guided guess the "
                 "full model gives in two at the app's default guidance. It can make pictures only at that guidance; "
                 "the app's teaching tabs use the full model, which shows real classifier-free guidance.",
    "vae": ("Class-conditional variational autoencoder: one decoder pass turns a latent code and a class "
            "into an image."),
    "gan": "Class-conditional GAN: one generator pass turns a noise vector and a class into an image.",
    "judge": "The in-app judge: a small CNN classifier whose predictions and features score generated samples.",
}


def read_metrics(folder: Path) -> dict:
    path = Path(folder) / METRICS_FILE
    return json.loads(path.read_text()) if path.exists() else {}


def merge_metrics(folder: Path, section: str, values: dict) -> None:
    """Store ``values`` under ``section`` in the folder's metrics.json and re-render the card."""
    metrics = read_metrics(folder)
    metrics[section] = values
    (Path(folder) / METRICS_FILE).write_text(json.dumps(metrics, indent=2, sort_keys=True) + "\n")
    write_card(folder)


def _json_block(value) -> str:
    return "```json\n" + json.dumps(value, indent=2, sort_keys=True) + "\n```"


def _warm_start_line(warm_start: dict | None) -> str | None:
    """One card line saying which model a warm-started run began from and how that one was trained."""
    if not warm_start:
        return None
    before = warm_start.get("training") or {}
    return (f"- warm start: began from the weights of `{warm_start['from']}` (SHA-256 "
            f"{str(warm_start.get('weights_sha256'))[:12]}…), "
            f"itself trained {before.get('train_minutes', '?')} minutes, "
            f"{before.get('epochs', '?')} epochs on {before.get('machine', '?')} with "
            f"`{before.get('command', '?')}`")


def render_card(config: dict, metrics: dict) -> str:
    training = config.get("training", {})
    lines = [
        f"# {config['dataset']}-{config['family']}",
        "",
        FAMILY_BLURB.get(config["family"], ""),
        "",
        "## Data",
        f"Dataset `{config['dataset']}` (training split), classes: {', '.join(config.get('class_names', []))}. "
        "Images scaled to [-1, 1], 0 = black background.",
        "",
        "## Training",
        f"- command: `{training.get('command', '?')}`",
        f"- machine: {training.get('machine', '?')}",
        f"- wall time training: {training.get('train_minutes', '?')} minutes, {training.get('steps', '?')} steps, "
        f"{training.get('epochs', '?')} epochs at batch {training.get('batch_size', '?')}",
        _warm_start_line(training.get("warm_start")),
        f"- parameters: {config.get('parameters', '?'):,}" if isinstance(config.get("parameters"), int) else "",
        (f"- width: base channels {config['architecture'].get('base_channels')}, chosen for this run with "
         "--base-channels (a narrower network than the recipe's own)") if training.get("base_channels") else None,
        f"- finished: {training.get('finished', '?')}",
        "",
        "Full settings:",
        "",
        _json_block({k: v for k, v in training.items() if k not in ('command', 'machine')}),
        "",
        "## Architecture",
        "",
        _json_block(config["architecture"]),
        "",
    ]
    if config["family"] in ("diffusion", "distilled"):
        lines += [f"Schedule: {config['schedule']['name']} (T = {config['schedule']['num_timesteps']}); "
                  f"the network predicts `{config['prediction']}`.", ""]
    learned = config.get("distilled_from")
    if learned:
        interval = learned["guidance_interval"]
        lines += ["## Learned from the full model", "",
                  f"Taught by `{learned['model']}` (weights SHA-256 {str(learned['weights_sha256'])[:12]}…): for a "
                  f"class, the full model's guided guess at s = {learned['guidance']:g} "
                  + (f"for {interval[0]} ≤ t ≤ {interval[1]} and its told-the-class guess elsewhere"
                     if interval else "at every step")
                  + "; for the null class, its told-nothing guess. The training pictures, noised to a random "
                  "step, are what both were shown.", ""]
    sampling = config.get("sampling")
    if sampling:
        lo, hi = sampling["guidance_interval"]
        lines += ["## Sampling defaults", "",
                  f"Guidance scales above 1 are applied only for {lo} ≤ t ≤ {hi}; on the noisier steps the "
                  "conditional branch runs alone (one network call). " + sampling.get("why", ""), "",
                  f"Where this came from: {_provenance(config)}", ""]
    snapshots = config.get("snapshots")
    if snapshots:
        lines += ["## Snapshots", "",
                  "The weights (EMA) were also saved part of the way through this run, each a model folder with its "
                  f"own config and SHA-256; the training loss along the run is in `{config.get('loss_file')}`. "
                  "They are for showing the learning itself (the app's Watch it learn section); pictures elsewhere "
                  "in the app come from the full-size model.", "",
                  "| % of the run | steps done | pictures seen | minutes | folder | SHA-256 |",
                  "|---|---|---|---|---|---|"]
        lines += [f"| {s['percent']:g} | {s['step']} | {s['images_seen']:,} | {s['train_minutes']} | "
                  f"`{s['folder']}` | {s['weights_sha256'][:12]}… |" for s in snapshots]
        lines += [""]
    lines += ["## Measured", ""]
    if metrics:
        for section, values in sorted(metrics.items()):
            notes = values.get("notes") if isinstance(values, dict) else None
            lines += [f"### {section}", ""]
            if notes:
                lines += [notes, ""]
            lines += [_json_block(values), ""]
    else:
        lines += ["Not measured yet: run `python -m explorer evaluate` and `python -m explorer bench`.", ""]
    lines += ["## Limitations", "",
              "28×28 grey images of one dataset only; the model renders what is plausible for a class, "
              "it does not understand the class. Numbers above come from the project's own judge "
              "classifier, which is itself imperfect.", ""]
    return "\n".join(line for line in lines if line is not None)


def _provenance(config: dict) -> str:
    """Who wrote the config's sampling section: the measuring command, or the retrain that carried it over."""
    carried = config.get("training", {}).get("kept_sections", {}).get("sampling")
    if carried:
        return carried
    written_by = config["sampling"].get("written_by")
    if written_by:
        return f"written by `{written_by}` (explorer/tools/evaluate.py, write_interval)."
    return ("typed in by hand from the measured grid, before `evaluate --sweep interval` wrote it; "
            "re-run that command to have it written by code.")


def write_card(folder: Path) -> None:
    folder = Path(folder)
    (folder / CARD_FILE).write_text(render_card(read_config(folder), read_metrics(folder)))
