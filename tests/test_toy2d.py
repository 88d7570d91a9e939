"""The 2-D toy (explorer.toy2d): forward process against the closed form, training, sampling, bad input, seeds."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from explorer.schedules import make_schedule
from explorer.toy2d import data, forward, model


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """torch on one thread for this module: the toy's small network trains in half the time that way (the default
    run: 5.7 s against 12 s on two threads on the 2-core machine, the same weights bit for bit)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _mean_nn(a: torch.Tensor, b: torch.Tensor) -> float:
    """Mean distance from each point of ``a`` to its nearest point of ``b``."""
    return float(torch.cdist(a, b).min(1).values.mean())


@pytest.mark.parametrize("name", list(data.SETS))
def test_sets_have_two_classes_and_unit_spread(name):
    points = data.make_points(name, 400, seed=3)
    assert points.points.shape == (400, 2) and points.points.dtype == torch.float32
    assert set(points.labels.tolist()) == {0, 1}
    assert abs(float(points.points.std(0).mean()) - 1) < 1e-3 and float(points.points.mean(0).abs().max()) < 1e-4
    assert torch.equal(points.points, data.make_points(name, 400, seed=3).points)


@pytest.mark.parametrize("schedule_name", ["cosine", "linear"])
@pytest.mark.parametrize("k", [0, 1, 250, 1000])
def test_forward_is_the_closed_form(schedule_name, k):
    x0 = data.make_points("spiral", 200).points
    noise = torch.randn(x0.shape, generator=torch.Generator().manual_seed(1))
    ab = float(make_schedule(schedule_name).alpha_bar[k - 1]) if k else 1.0
    expected = math.sqrt(ab) * x0 + math.sqrt(1 - ab) * noise
    got = forward.noise_points(x0, k, noise, schedule_name)
    assert torch.allclose(got, expected, atol=1e-5)
    assert forward.levels(k, schedule_name) == pytest.approx((math.sqrt(ab), math.sqrt(1 - ab)))


def test_forward_ends_in_static():
    x0 = data.make_points("rings", 2000).points
    x = forward.noise_points(x0, 1000, generator=torch.Generator().manual_seed(0))
    assert float(x.mean(0).abs().max()) < 0.1 and abs(float(x.std(0).mean()) - 1) < 0.05


def test_training_lowers_the_loss_and_is_deterministic():
    runs = []
    for _ in range(2):
        trainer = model.Trainer(data.make_points("moons", 500), seed=7)
        progress = list(trainer.run(150, chunk=25))
        runs.append((trainer, progress))
    (trainer, progress), (again, _) = runs
    assert [p.step for p in progress] == [25, 50, 75, 100, 125, 150] and progress[-1].done
    assert np.mean(trainer.losses[-2:]) < 0.85 * trainer.losses[0]
    assert trainer.losses == again.losses
    for a, b in zip(trainer.model.parameters(), again.model.parameters()):
        assert torch.equal(a, b)


def test_training_resumes_and_stops_at_the_cap(monkeypatch):
    trainer = model.Trainer(data.make_points("moons", 100), seed=0)
    list(trainer.run(40, chunk=20))
    monkeypatch.setattr(model, "MAX_TRAIN_STEPS", 60)
    list(trainer.run(50, chunk=20))
    assert trainer.step == 60 and trainer.finished


def test_a_trained_default_lands_on_the_data():
    """Generated points of the default run are as near the data as a fresh sample of the same set is;
    with guidance each class ends in its own moon; one jump and the untrained network land far away."""
    trainer = model.trained_default()
    points, labels = trainer.data.points, trainer.data.labels
    fresh = data.make_points(model.DEFAULT_SET, 600, seed=99).points  # the data's own spread
    baseline = _mean_nn(fresh, points)
    frames = model.generate(trainer.model, steps=50, guidance=1.0, n=600, seed=1)
    generated = frames[-1].points
    assert len(frames) == 51 and frames[0].index == 0
    assert _mean_nn(generated, points) < 1.5 * baseline
    assert _mean_nn(points, generated) < 2.0 * baseline  # and they cover the data (Chamfer's other half)
    particle_labels = model.particle_labels(600)
    for c in (0, 1):
        own = _mean_nn(generated[particle_labels == c], points[labels == c])
        other = _mean_nn(generated[particle_labels == c], points[labels != c])
        assert own < 2 * baseline < other
    one_jump = model.generate(trainer.model, steps=1, n=600, seed=1)[-1].points
    untrained = model.generate(model.ToyDenoiser(), steps=50, n=600, seed=1)[-1].points
    assert _mean_nn(one_jump, points) > 5 * baseline and _mean_nn(untrained, points) > 5 * baseline


def test_sampling_is_deterministic_for_a_seed():
    net = model.ToyDenoiser(generator=torch.Generator().manual_seed(5))
    a = model.generate(net, steps=8, guidance=2.0, n=50, seed=4)
    b = model.generate(net, steps=8, guidance=2.0, n=50, seed=4)
    c = model.generate(net, steps=8, guidance=2.0, n=50, seed=5)
    assert all(torch.equal(x.points, y.points) for x, y in zip(a, b))
    assert not torch.equal(a[0].points, c[0].points)
    assert model.sample_times(1) == [model.START_T] and model.sample_times(4)[-1] >= 0


def test_field_points_toward_the_data():
    trainer = model.trained_default()
    positions, moves = model.field(trainer.model, k=300, grid=9)
    assert positions.shape == moves.shape == (81, 2)
    outer = positions.norm(dim=1) > 2.5  # far out: the arrows point back in
    assert float((moves[outer] * positions[outer]).sum(1).lt(0).float().mean()) > 0.9


@pytest.mark.parametrize("points, message", [
    (np.zeros((5, 2)), "Too few points: 5"),
    (np.random.default_rng(0).normal(size=(data.MAX_POINTS + 1, 2)), "Too many points"),
    (np.array([[0.0, 1.0]] * 30 + [[np.nan, 0.0]]), "not a finite number"),
    (np.array([[0.0, 1.0]] * 30 + [[np.inf, 0.0]]), "not a finite number"),
    (np.zeros((30, 3)), "(x, y) pairs"),
    ("banana", "list of (x, y) number pairs"),
    (np.ones((30, 2)), "in one place"),
])
def test_bad_drawn_sets_are_refused_with_a_message(points, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        data.drawn_set(points)


def test_bad_labels_and_settings_are_refused():
    pts = np.random.default_rng(0).normal(size=(30, 2))
    with pytest.raises(ValueError, match="0 or 1"):
        data.check_points(pts, [2] * 30)
    with pytest.raises(ValueError, match="one class per point"):
        data.check_points(pts, [0] * 29)
    with pytest.raises(ValueError, match="Unknown point set"):
        data.make_points("blob")
    net = model.ToyDenoiser()
    with pytest.raises(ValueError, match="Steps must be a whole number from 1 to"):
        model.generate(net, steps=0)
    with pytest.raises(ValueError, match="Guidance scale must be a number between 0 and 20, got nan"):
        model.generate(net, guidance=float("nan"))
    with pytest.raises(ValueError, match="k must be a whole number from 0 to 1000"):
        forward.noise_points(torch.zeros(3, 2), 1001, torch.zeros(3, 2))


def test_points_from_a_two_colour_drawing():
    image = np.full((100, 100, 3), 255, np.uint8)
    image[10:20, 10:60] = (31, 119, 180)  # blue stroke, top
    image[70:80, 40:90] = (255, 127, 14)  # orange stroke, bottom
    points, labels = data.points_from_drawing(image, max_points=300, seed=0)
    assert points.shape == (300, 2) and set(labels.tolist()) == {0, 1}
    assert points[labels == 0, 1].min() > points[labels == 1, 1].max()  # y points up: blue above orange
    drawn = data.drawn_set(points, labels)
    assert drawn.points.shape == (300, 2)
    with pytest.raises(ValueError, match="Too few points"):
        data.points_from_drawing(np.full((50, 50, 3), 255, np.uint8))
