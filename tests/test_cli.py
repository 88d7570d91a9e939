"""The command line writes what the README's "Command line" section promises and refuses bad values clearly."""

import subprocess
import sys

import numpy as np
import pytest

from explorer.cli import main


def test_sample_writes_the_documented_npz(tmp_path):
    out, png = tmp_path / "s.npz", tmp_path / "s.png"
    assert main(["sample", "--dataset", "mnist", "--family", "diffusion", "--per-class", "2", "--guidance", "2",
                 "--steps", "3", "--sampler", "ddim", "--seed", "5", "--out", str(out), "--png", str(png)]) == 0
    with np.load(out) as f:
        images, labels = f["images"], f["labels"]
    assert images.shape == (20, 28, 28) and images.dtype == np.uint8
    assert labels.tolist() == [c for c in range(10) for _ in range(2)]
    assert images.mean() < 100, "background must be black (0) as in the datasets"
    assert png.stat().st_size > 0


def test_sample_from_the_fast_copy_at_the_default_guidance(tmp_path):
    out = tmp_path / "fast.npz"
    assert main(["sample", "--dataset", "fashion", "--family", "distilled", "--per-class", "1", "--steps", "4",
                 "--out", str(out)]) == 0
    with np.load(out) as f:
        assert f["images"].shape == (10, 28, 28) and f["labels"].tolist() == list(range(10))


def test_sample_one_label(tmp_path):
    out = tmp_path / "one.npz"
    assert main(["sample", "--dataset", "mnist", "--per-class", "3", "--label", "seven", "--steps", "2",
                 "--out", str(out)]) == 0
    with np.load(out) as f:
        assert f["labels"].tolist() == [7, 7, 7]


@pytest.mark.parametrize("args, message", [
    (["--label", "horse"], "Known classes"),
    (["--steps", "0"], "Steps"),
    (["--steps", "100000"], "Steps"),
    (["--guidance", "nan"], "Guidance scale must be a number between 0 and 20, got nan"),
    (["--guidance", "inf"], "Guidance scale must be a number between 0 and 20, got inf"),
    (["--sampler", "euler"], "Known samplers"),
    (["--seed", "-1"], "Seed must be a whole number from 0 to"),
    (["--family", "distilled", "--guidance", "5"], "mnist-distilled learned one guidance only: s = 3"),
])
def test_sample_refuses_bad_values(tmp_path, capsys, args, message):
    code = main(["sample", "--dataset", "mnist", "--out", str(tmp_path / "x.npz"), *args])
    assert code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "x.npz").exists()


@pytest.mark.parametrize("args", [["--dataset", "cifar"], ["--dataset", "mnist", "--family", "flow"]])
def test_unknown_dataset_or_family_is_a_usage_error(tmp_path, args):
    with pytest.raises(SystemExit) as exit_info:
        main(["sample", *args, "--out", str(tmp_path / "x.npz")])
    assert exit_info.value.code == 2


def test_module_entry_point_runs():
    result = subprocess.run([sys.executable, "-m", "explorer", "--help"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0
    for verb in ("train", "sample", "evaluate", "bench"):
        assert verb in result.stdout


def test_bench_with_an_unknown_compile_mode_is_refused_before_measuring(capsys):
    assert main(["bench", "--compile", "fastest", "--no-write"]) == 2
    err = capsys.readouterr().err
    assert "Unknown compile mode 'fastest'. Known modes: default, reduce-overhead, max-autotune." in err
