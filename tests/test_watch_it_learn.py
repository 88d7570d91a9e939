"""Watch it learn: the training loop's snapshots (a tiny run), the shipped "fashion-learning" snapshots loaded
with their checksums, and the demo: the untrained snapshot's guess of the static is much worse than the final
one's, the same arguments give the same pictures, bad values are refused."""

from __future__ import annotations

import json

import numpy as np
import pytest

from explorer import denoiser, plots, registry
from explorer.cards import render_card
from explorer.checkpoints import load_model, read_config
from explorer.demos import watch_it_learn as demo
from explorer.demos.cache import LRUCache
from explorer.train import LOSS_FILE, SNAPSHOT_DIR, TrainSettings, check_snapshots, train

N_IMAGES = 64


@pytest.fixture()
def tiny_data(tmp_path):
    rng = np.random.default_rng(0)
    x = (rng.random((N_IMAGES, 28, 28)) * 255).astype(np.uint8)
    y = np.arange(N_IMAGES) % 10
    folder = tmp_path / "data"
    folder.mkdir()
    np.savez(folder / "mnist_10k.npz", x_train=x, y_train=y, x_test=x[:10], y_test=y[:10])
    return folder


def test_training_saves_snapshots_with_checksums_and_the_loss(tmp_path, tiny_data):
    out = tmp_path / "model"
    config = train(TrainSettings(dataset="mnist", family="diffusion", out=out, max_epochs=2, device="cpu",
                                 data_dir=str(tiny_data), batch_size=16, command="test", snapshots=(0, 50, 100),
                                 base_channels=8))
    assert config["architecture"]["base_channels"] == 8 and config["training"]["base_channels"] == 8
    points = config["snapshots"]
    assert [p["percent"] for p in points] == [0, 50, 100]
    assert [p["step"] for p in points] == [0, 4, 8]  # 2 epochs of 4 steps
    for point in points:
        network, snapshot = load_model(out / point["folder"])  # its own SHA-256 checked
        assert snapshot["weights_sha256"] == point["weights_sha256"] and snapshot["snapshot"]["step"] == point["step"]
        assert (out / point["folder"]).parent.name == SNAPSHOT_DIR
    final = read_config(out)
    assert final["weights_sha256"] == points[-1]["weights_sha256"]  # 100 %: the final weights
    curve = json.loads((out / LOSS_FILE).read_text())
    assert curve["step"] == list(range(1, 9)) and len(curve["loss"]) == 8
    assert "## Snapshots" in render_card(final, {})


@pytest.mark.parametrize("bad", [(-1,), (101,), (float("nan"),)])
def test_snapshot_points_are_percentages(bad):
    with pytest.raises(ValueError, match="percentages"):
        check_snapshots(bad)


def test_the_width_is_only_for_the_diffusion_recipe(tmp_path, tiny_data):
    with pytest.raises(ValueError, match="base-channels"):
        train(TrainSettings(dataset="mnist", family="vae", out=tmp_path / "m", max_epochs=1, device="cpu",
                            data_dir=str(tiny_data), batch_size=16, command="test", base_channels=8))


# ----------------------------------------------------------------------------- the shipped snapshots

def test_the_shipped_snapshots_load_with_their_checksums():
    snapshots = denoiser.snapshots()
    assert [point["percent"] for point, _ in snapshots] == [0, 5, 10, 100]
    steps = [point["step"] for point, _ in snapshots]
    assert steps == sorted(steps) and steps[0] == 0
    config = registry.get_model(denoiser.LEARNING).config
    assert config["parameters"] < denoiser.get("fashion").config["parameters"] / 4  # smaller than the shipped one
    assert snapshots[-1][1].config["weights_sha256"] == config["weights_sha256"]


def test_a_model_without_snapshots_says_how_to_make_them():
    with pytest.raises(ValueError, match="--snapshots"):
        registry.get_snapshots("fashion-diffusion")


@pytest.fixture
def fresh_cache(monkeypatch):
    monkeypatch.setattr(demo, "_CACHE", LRUCache(demo.CACHE_SIZE))


def test_the_untrained_guess_is_much_worse_than_the_final_one(fresh_cache):
    result = demo.watch_it_learn()
    assert result.snapshot_names[0] == "untrained" and len(result.errors) == 4
    assert result.errors[0] > 2.5 * result.errors[-1]  # at the default k
    assert result.errors[0] > 0.8 and result.errors[-1] < 0.4  # the static itself is about 1 per pixel
    assert list(result.errors) == sorted(result.errors, reverse=True)  # better at every snapshot
    assert result.grid.ndim == 2 and result.made.shape == (4, 28, 28)


def test_the_loss_falls_and_the_chart_marks_the_snapshots():
    figure = demo.loss_figure()
    line, marks = figure.data[0], figure.data[-1]
    assert np.mean(line.y[-10:]) < np.mean(line.y[:3])
    assert len(marks.x) == 4 and "untrained" in marks.text


def test_the_same_arguments_give_the_same_pictures(fresh_cache, monkeypatch):
    first = demo.watch_it_learn(3, 300, 5)
    monkeypatch.setattr(demo, "_CACHE", LRUCache(demo.CACHE_SIZE))
    again = demo.watch_it_learn(3, 300, 5)
    assert not again.cached
    np.testing.assert_array_equal(first.grid, again.grid)
    np.testing.assert_allclose(first.errors, again.errors)
    assert demo.watch_it_learn(3, 300, 5).cached


@pytest.mark.parametrize("kwargs", [dict(k=0), dict(k=1001), dict(k=float("nan")), dict(seed=-1),
                                    dict(gallery_index=10 ** 6), dict(k="many")])
def test_bad_values_are_refused(kwargs):
    with pytest.raises(ValueError):
        demo.watch_it_learn(**kwargs)


def test_the_grids_labels_are_readable_on_a_phone_and_drawable(fresh_cache):
    """A column per snapshot (its error over it), a heading per kind of picture: drawn at a size a 390 px phone
    shows at 12 px or more, with no character the picture font lacks (a "−" drew as a box)."""
    result = demo.watch_it_learn()
    columns = [demo.column_name(p, e) for p, e in zip(result.percents, result.errors)]
    assert columns[0] == f"untrained\noff by {result.errors[0]:.2f}" and columns[-1].startswith("after 100 %")
    for labels, tile, picture in ((columns, demo.TILE, result.grid), (demo.SHOWN, demo.SHOWN_TILE, result.shown)):
        font = plots._label_font_size(labels, tile, picture.shape[1])
        assert plots.shown_label_size(font, picture.shape[1]) >= plots.SHOWN_LABEL, labels
        assert all(plots.drawable(text) == text for text in labels)
    assert all(plots.drawable(text) == text for text in demo.KINDS)
    assert result.grid.shape[1] == len(result.errors) * demo.TILE + (len(result.errors) - 1) * 4  # no side column
