"""The command line, python -m explorer <verb>: argument parsing and dispatch, nothing else.

The verbs and their flags are a contract scripts and tests rely on; the README's "Command line" section is their
synopsis, and its "How it is built" section the layers each verb calls into.
Owns: the verbs ``train``, ``sample``, ``evaluate``, ``bench`` and ``loadtest``, their flags and defaults, and
turning bad values into a one-line error and exit status 2.
Does not know: the maths; each verb calls one function of the layer that owns the work.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from explorer.data import DATASETS
from explorer.recipes import FAMILIES


def _add_train(sub) -> None:
    p = sub.add_parser("train", help="train one model and write model_store/<dataset>-<family>/")
    p.add_argument("--dataset", required=True, choices=list(DATASETS))
    p.add_argument("--family", required=True, choices=list(FAMILIES))
    p.add_argument("--out", type=Path, help="model folder (default model_store/<dataset>-<family>)")
    p.add_argument("--minutes", type=float, help="wall-clock training budget (resumable)")
    p.add_argument("--epochs", type=float, help="stop after this many epochs")
    p.add_argument("--device", default="auto", help="auto (CUDA when present), cpu, cuda, cuda:N")
    p.add_argument("--data", help="directory with the dataset files (default $EXPLORER_DATA or ../shared/data)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--batch-size", type=int, help="images per step (default: the recipe's; larger suits a GPU)")
    p.add_argument("--threads", type=int, help="CPU threads for torch (default: torch's choice)")
    p.add_argument("--init-from", type=Path, metavar="MODEL_DIR",
                   help="start from this model folder's weights (same family, dataset and architecture)")
    p.add_argument("--anneal", action="store_true", help="decay the learning rate to zero (cosine) over the budget")
    p.add_argument("--snapshots", type=_float_list, default=(),
                   help="also save the weights at these percentages of the run, e.g. 0,1,10,100 "
                        "(into OUT/snapshots/<percent>/, with the loss along the run in OUT/loss.json)")
    p.add_argument("--base-channels", type=int, help="diffusion only: the U-Net's width (default: the recipe's, 32)")


def _run_train(args) -> int:
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    from explorer.registry import MODEL_STORE
    from explorer.train import TrainSettings, train

    out = args.out or MODEL_STORE / f"{args.dataset}-{args.family}"
    config = train(TrainSettings(dataset=args.dataset, family=args.family, out=out, minutes=args.minutes,
                                 max_epochs=args.epochs, device=args.device, data_dir=args.data, seed=args.seed,
                                 batch_size=args.batch_size, init_from=args.init_from, anneal=args.anneal,
                                 snapshots=tuple(args.snapshots), base_channels=args.base_channels))
    print(f"wrote {out} ({config['training']['steps']} steps, {config['training']['train_minutes']} min)")
    return 0


def _add_sampling_flags(p) -> None:
    from explorer.sampling import DEFAULTS

    p.add_argument("--guidance", type=float, default=DEFAULTS.guidance,
                   help=f"classifier-free guidance scale s (eps_u + s·(eps_c − eps_u)); default {DEFAULTS.guidance:g}")
    p.add_argument("--steps", type=int, default=DEFAULTS.steps, help=f"sampling steps (default {DEFAULTS.steps})")
    p.add_argument("--sampler", default=DEFAULTS.sampler, help="ddpm, ddim or dpm++ (default %(default)s)")
    p.add_argument("--eta", type=float, default=DEFAULTS.eta, help="DDIM's η (default %(default)s)")
    p.add_argument("--seed", type=int, default=0)


def _add_sample(sub) -> None:
    p = sub.add_parser("sample", help="write generated images to an npz (and optionally a PNG grid)")
    p.add_argument("--dataset", required=True, choices=list(DATASETS))
    p.add_argument("--family", default="diffusion", choices=["diffusion", "distilled", "vae", "gan"],
                   help="distilled: the fast copy (default guidance only, one call per step)")
    p.add_argument("--per-class", type=int, default=10, help="images of every class, in class order")
    p.add_argument("--label", help="only this class (index or name): --per-class images of it")
    _add_sampling_flags(p)
    p.add_argument("--out", type=Path, required=True, help="FILE.npz with images (N,28,28) uint8 and labels (N,)")
    p.add_argument("--png", type=Path, help="also write a PNG grid, one row per class")


def _run_sample(args) -> int:
    import numpy as np
    from PIL import Image

    from explorer import pictures, sampling
    from explorer.data import class_index, dataset_info, to_uint8
    from explorer.plots import grid

    info = dataset_info(args.dataset)
    if args.per_class < 1:
        raise ValueError(f"--per-class must be at least 1, got {args.per_class}.")
    classes = [class_index(info, args.label)] if args.label is not None else list(range(info.num_classes))
    labels = np.repeat(np.array(classes, dtype=np.int64), args.per_class)  # (N,)
    settings = sampling.SamplingSettings(sampler=args.sampler, steps=args.steps, guidance=args.guidance, eta=args.eta)
    images = to_uint8(pictures.images(args.dataset, args.family, labels.tolist(), args.seed, settings))  # (N,28,28)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, images=images, labels=labels)
    if args.png:
        Image.fromarray(grid(images.reshape(len(classes), args.per_class, 28, 28))).save(args.png)
    print(f"wrote {len(images)} images to {args.out}" + (f" and {args.png}" if args.png else ""))
    return 0


def _int_list(text: str) -> list[int]:
    return [int(v) for v in text.split(",") if v.strip()]


def _float_list(text: str) -> list[float]:
    return [float(v) for v in text.split(",") if v.strip()]


def _add_evaluate(sub) -> None:
    p = sub.add_parser("evaluate", help="measure quality with the judge and write it into the model card")
    p.add_argument("--dataset", required=True, choices=list(DATASETS))
    p.add_argument("--family", default="diffusion", choices=list(FAMILIES))
    p.add_argument("--per-class", type=int, default=100, help="generated (and real) images per class")
    p.add_argument("--sweep", choices=["none", "guidance", "steps", "interval"], default="none",
                   help="interval: the grid of --scales × intervals 0…hi (--highs) over --seeds; writes the grid "
                        "into the card and the interval with the widest margin on the targets into config.json")
    p.add_argument("--highs", type=_int_list, default=[350, 400, 450, 500, 550, 600, 650, 800])
    p.add_argument("--seeds", type=_int_list, help="interval sweep: seeds to measure (default: --seed)")
    p.add_argument("--from-card", metavar="SECTION",
                   help="interval sweep: choose from the grid already measured in this section of metrics.json "
                        "instead of measuring it again")
    p.add_argument("--scales", type=_float_list, default=[0, 1, 2, 3, 5, 8], help="guidance sweep, e.g. 0,1,2,3,5,8")
    p.add_argument("--steps-list", type=_int_list, default=[1, 2, 4, 8, 16, 32, 64, 128, 256, 1000])
    p.add_argument("--section", help="name of the card section to write (default depends on the run)")
    p.add_argument("--no-write", action="store_true", help="print only; leave the card alone")
    p.add_argument("--data", help="directory with the dataset files")
    _add_sampling_flags(p)


def _run_evaluate(args) -> int:
    import json

    from explorer import sampling
    from explorer.tools import evaluate

    if args.family == "judge":
        result, section = evaluate.judge_accuracy(args.dataset, args.data), "accuracy"
    elif args.sweep == "interval" and args.from_card:
        return _interval_sweep(args, None)
    else:
        reference = evaluate.real_reference(args.dataset, args.per_class, args.data)
        settings = sampling.SamplingSettings(sampler=args.sampler, steps=args.steps, guidance=args.guidance,
                                             eta=args.eta)
        if args.sweep == "guidance":
            result = evaluate.guidance_sweep(args.dataset, args.scales, args.per_class, reference, args.seed)
            section = "guidance_sweep"
        elif args.sweep == "interval":
            return _interval_sweep(args, reference)
        elif args.sweep == "steps":
            result = evaluate.steps_sweep(args.dataset, args.steps_list, args.per_class, reference, args.seed)
            section = "steps_sweep"
        else:
            result = evaluate.evaluate_settings(args.dataset, args.family, args.per_class, reference, args.seed,
                                                settings)
            section = "quality_at_defaults" if settings == sampling.DEFAULTS else "quality"
    print(json.dumps(result, indent=2))
    if not args.no_write:
        evaluate.write(args.dataset, args.family, args.section or section, result)
    return 0


def _interval_sweep(args, reference) -> int:
    import json

    from explorer.tools import evaluate
    from explorer.tools.machine import machine_summary

    if args.from_card:
        rows = evaluate.measured_grid(args.dataset, args.from_card)
    else:
        rows = [row for seed in (args.seeds or [args.seed]) for row in
                evaluate.interval_sweep(args.dataset, args.scales, args.highs, args.per_class, reference, seed)]
    if args.no_write:
        print(json.dumps({"rows": rows, "choice": evaluate.choose_interval(args.dataset, rows)}, indent=2))
    else:
        command = "python -m explorer " + " ".join(sys.argv[1:])
        print(json.dumps(evaluate.write_interval(args.dataset, rows, command, machine_summary(),
                                                 grid_section=args.from_card or "guidance_interval_grid",
                                                 store_grid=not args.from_card), indent=2))
    return 0


def _add_bench(sub) -> None:
    p = sub.add_parser("bench", help="measure speed (CPU threads, and CUDA when present)")
    p.add_argument("--dataset", choices=list(DATASETS), action="append", help="default: both")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--app", action="store_true", help="also time each tab's demo call and the cold start")
    p.add_argument("--app-demos", action="store_true", help="also time each tab's demo call (no cold start)")
    p.add_argument("--device", default="auto", help="auto (CUDA figures too when present), cpu or cuda")
    p.add_argument("--emulate-avx2", action="store_true",
                   help="also measure the CPU with torch limited to AVX2 (ATEN_CPU_CAPABILITY=avx2 "
                        "ONEDNN_MAX_CPU_ISA=AVX2), side by side with the native figures")
    p.add_argument("--no-write", action="store_true")
    p.add_argument("--compile", dest="compile_mode", metavar="MODE",
                   help="CUDA throughput with the network compiled: default, reduce-overhead (CUDA graphs) or "
                        "max-autotune (the app itself runs eager)")


def _run_bench(args) -> int:
    import json

    from explorer import denoiser
    from explorer.tools import evaluate
    from explorer.tools.bench import check_compile_mode, run_bench

    datasets = args.dataset or list(DATASETS)
    report = run_bench(datasets, args.threads, args.device, check_compile_mode(args.compile_mode))
    if args.app or args.app_demos:
        from explorer.tools.bench import bench_cold_start, bench_tabs

        report["app"] = {**bench_tabs(), **({"cold_start_s": bench_cold_start()} if args.app else {})}
    if args.emulate_avx2:
        from explorer.tools.bench import bench_emulated_avx2

        report["emulated_avx2"] = bench_emulated_avx2(datasets, args.threads, args.app or args.app_demos)
    print(json.dumps(report, indent=2))
    if not args.no_write:
        for dataset, entry in report["models"].items():
            for key, values in entry.items():
                family, where = key.split("_", 1)
                evaluate.write(dataset, family, f"speed_{where}",
                               {"machine": report["machine"] if where == "cpu" else values.get("device"),
                                "cpu_capability": report["cpu_capability"], "cpu_threads": report["cpu_threads"],
                                **values})
            for family in denoiser.FAMILIES if "emulated_avx2" in report else ():
                values = report["emulated_avx2"]["models"][dataset].get(f"{family}_cpu")
                if values is not None:
                    evaluate.write(dataset, family, "speed_cpu_emulated_avx2",
                                   {"machine": report["machine"], "cpu_threads": report["cpu_threads"],
                                    "cpu_capability": report["emulated_avx2"]["cpu_capability"], **values})
    return 0


def _add_loadtest(sub) -> None:
    p = sub.add_parser("loadtest", help="a class of users at once through the app's API: latency, failures, memory")
    p.add_argument("--url", help="the running app (default: start one here, so its memory can be read)")
    p.add_argument("--users", type=int, default=30, help="users generating at the same moment (default %(default)s)")
    p.add_argument("--sequential", type=int, default=300,
                   help="requests in a row, watching memory (default %(default)s)")
    p.add_argument("--repeats", type=int, default=20, help="identical requests, for the cache (default %(default)s)")
    p.add_argument("--pid", type=int, help="the server's process id, to read its memory when --url is given")
    p.add_argument("--flooder", action="store_true",
                   help="also run the honest users beside one client that keeps many max-cost requests queued")
    p.add_argument("--class", dest="class_scenarios", action="append", metavar="SCENARIO",
                   help="instead: a class that loads the page and presses its tab's main button; one of "
                        "alone, remove-noise, mixed, mixed-flooder, toy-training or all (repeatable)")
    p.add_argument("--attack", dest="attacks", action="append", metavar="ATTACK",
                   help="instead: one student at another address and one at the attacker's beside an attack of "
                        "issue 26, against their quiet time; one of flood, session-churn, slowloris, slow-upload, "
                        "blobs, accepted-blobs, upload-quota, upload-budget or all (repeatable)")
    p.add_argument("--avx2", action="store_true",
                   help="with --class or --attack and no --url: start the app with torch's kernels limited to AVX2")


def _run_loadtest(args) -> int:
    import json

    from explorer.tools.loadtest import run

    if args.attacks:
        return _run_attacks(args)
    if args.class_scenarios:
        return _run_class(args)
    if min(args.users, args.sequential, args.repeats) < 1:
        raise ValueError("--users, --sequential and --repeats must be at least 1.")
    print(json.dumps(run(args.url, args.users, args.sequential, args.repeats, args.pid, args.flooder), indent=2))
    return 0


def _run_class(args) -> int:
    import json

    from explorer.tools import classroom
    from explorer.tools.bench import AVX2_ONLY

    scenarios = list(classroom.SCENARIOS) if "all" in args.class_scenarios else args.class_scenarios
    env = AVX2_ONLY if args.avx2 else None
    print(json.dumps({"avx2_emulated": args.avx2, **classroom.run(scenarios, args.url, args.pid, env)}, indent=2))
    return 0


def _run_attacks(args) -> int:
    import json

    from explorer.tools import attacks
    from explorer.tools.bench import AVX2_ONLY

    if args.class_scenarios:
        raise ValueError("--attack and --class are separate runs: give one of them.")
    env = AVX2_ONLY if args.avx2 else None
    print(json.dumps({"avx2_emulated": args.avx2, **attacks.run(args.attacks, args.url, args.pid, env)}, indent=2))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m explorer", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="verb", required=True)
    _add_train(sub)
    _add_sample(sub)
    _add_evaluate(sub)
    _add_bench(sub)
    _add_loadtest(sub)
    return parser


RUNNERS = {"train": _run_train, "sample": _run_sample, "evaluate": _run_evaluate, "bench": _run_bench,
           "loadtest": _run_loadtest}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return RUNNERS[args.verb](args)
    except (ValueError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
