"""The speed table of docs/speed.md says what the committed bench run measured (benchmarks/bench-cpu-2threads.json).

The table is copied by hand from one run of ``python -m explorer bench --app --emulate-avx2``; this
checks every figure it takes from that run against the file, so a new run without a new table (or a
typo) fails here. A number in a cell matches a measured value when they differ by at most half a
unit of the number's last decimal (0.235 shows 0.2345; 1.91 does not show 1.92).
"""

from __future__ import annotations

import json
import re

import pytest

from explorer.data import PROJECT_ROOT

BENCH = json.loads((PROJECT_ROOT / "benchmarks" / "bench-cpu-2threads.json").read_text())
PAGE = (PROJECT_ROOT / "docs" / "speed.md").read_text()
TABLE_HEAD = "| what (app defaults) | AVX-512-BF16: `auto` → **bf16** for large calls | AVX2-only: `auto` → **fp32** |"


def _rows() -> list[list[str]]:
    """The speed table's rows after its header, as lists of cells (first: what)."""
    lines = PAGE[PAGE.index(TABLE_HEAD):].splitlines()
    rows = []
    for line in lines[2:]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows


def _row_after(label: str, offset: int = 0) -> list[str]:
    rows = _rows()
    index = next(i for i, row in enumerate(rows) if row[0].startswith(label))
    return rows[index + offset]


def _shows(cell: str, value: float, scale: float = 1.0) -> bool:
    """Whether some number in ``cell`` is ``value * scale`` rounded to that number's decimals (either way at a
    half)."""
    for number in re.findall(r"\d[\d,]*\.?\d*", cell):
        text = number.replace(",", "")
        decimals = len(text.split(".")[1]) if "." in text else 0
        if abs(value * scale - float(text)) <= 0.5 * 10 ** -decimals + 1e-9:
            return True
    return False


def _reports():
    return {"native": (1, BENCH), "avx2": (2, BENCH["emulated_avx2"])}


def _model(report: dict, dataset: str, family: str) -> dict:
    return report["models"][dataset][f"{family}_cpu"]


PROBED = ("1", "4", "16", "64")  # the batch sizes explorer.precision times
ROWS = [  # (row label, offset from it, family, key, scale to the table's unit)
    *[("precision probe, full model", offset, family, ("precision_probe_ms", name, n), 1.0)
      for offset, family in ((0, "diffusion"), (1, "distilled")) for name in ("fp32", "bf16") for n in PROBED],
    ("calls in fp32 below", 0, "diffusion", ("fp32_below",), 1.0),
    ("calls in fp32 below", 0, "distilled", ("fp32_below",), 1.0),
    ("one guided 28×28 image, end to end, full model", 0, "diffusion", ("one_guided_image_s",), 1.0),
    ("one guided 28×28 image, end to end, full model", 1, "distilled", ("one_guided_image_s",), 1.0),
    ("80 guided images, full model", 0, "diffusion", ("eighty_guided_images_s",), 1.0),
    ("80 guided images, full model", 1, "distilled", ("eighty_guided_images_s",), 1.0),
]


@pytest.mark.parametrize("where", ["native", "avx2"])
@pytest.mark.parametrize("label, offset, family, key, scale", ROWS)
def test_model_rows_show_the_bench_run(where, label, offset, family, key, scale):
    column, report = _reports()[where]
    cell = _row_after(label, offset)[column]
    if key[0] == "fp32_below" and where == "avx2":
        assert "every call in fp32" in cell and _model(report, "fashion", family)["fp32_below"] == 0
        return
    datasets = ("fashion",) if key[0] in ("precision_probe_ms", "fp32_below") else ("fashion", "mnist")
    for dataset in datasets:
        value = _model(report, dataset, family)
        for part in key:
            value = value[part]
        assert _shows(cell, value, scale), f"{label!r} ({where}, {dataset}) shows {cell!r}, the run measured {value}"


@pytest.mark.parametrize("where", ["native", "avx2"])
def test_network_call_row_shows_both_networks(where):
    column, report = _reports()[where]
    cell = _row_after("one guided network call, batch 1")[column]
    for family in ("diffusion", "distilled"):
        value = _model(report, "fashion", family)["guided_call_ms_batch1"]
        assert _shows(cell, value), f"{cell!r} lacks {family}'s {value} ms"


APP_ROWS = [  # (row label, keys of report["app"], in the order the cell gives them)
    ('"Remove noise": first frame / whole run', ("remove_noise_first_frame_s", "remove_noise_total_s")),
    ("guidance grid 6 scales × 4 seeds", ("guidance_grid_6x4_s",)),
    ("Mistakes: odd ones out, 64 pictures", ("odd_ones_out_64_s", "odd_ones_out_64_full_model_s")),
    ("Mistakes: impossible request", ("impossible_request_s",)),
    ("Finish my drawing", ("finish_drawing_s", "watch_it_learn_s")),
    ("Ask the network", ("ask_the_network_s", "different_endings_s", "switch_prompt_s")),
]


@pytest.mark.parametrize("where", ["native", "avx2"])
@pytest.mark.parametrize("label, keys", APP_ROWS)
def test_app_rows_show_the_bench_run(where, label, keys):
    column, report = _reports()[where]
    cell = _row_after(label)[column]
    for key in keys:
        assert _shows(cell, report["app"][key]), \
            f"{label!r} ({where}) shows {cell!r}, the run measured {report['app'][key]}"


def test_cold_start_and_chosen_precisions_are_the_runs():
    assert _shows(_row_after("cold start")[1], BENCH["app"]["cold_start_s"])
    assert set(BENCH["precision"].values()) == {"bf16"}, "the table's header says auto chose bf16 natively"
    assert set(BENCH["emulated_avx2"]["precision"].values()) == {"fp32"}, "… and fp32 on AVX2"
    assert BENCH["cpu_capability"] == "AVX512 (with bf16)"
    assert BENCH["emulated_avx2"]["cpu_capability"] == "AVX2 (no bf16)"


def test_the_matcher_rejects_a_wrong_figure():
    assert _shows("0.230 s", 0.2301) and _shows("1,136 MB", 1136.4) and _shows("a / 1.91 s", 1.907)
    assert not _shows("0.230 s", 0.2351) and not _shows("1.91 s", 1.92)
