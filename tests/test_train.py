"""The shared training loop: writes a loadable model folder, resumes where it stopped, refuses a resume
with another batch size, and averages weights (EMA) as the formula says."""

import json

import numpy as np
import pytest
import torch

from explorer.checkpoints import load_model
from explorer.train import EMA, STATE_DIR, TrainSettings, train

N_IMAGES = 64


@pytest.fixture()
def tiny_data(tmp_path):
    """A 64-image stand-in for mnist_10k.npz (random digits-like blobs, 10 classes)."""
    rng = np.random.default_rng(0)
    x = (rng.random((N_IMAGES, 28, 28)) * 255).astype(np.uint8)
    y = np.arange(N_IMAGES) % 10
    folder = tmp_path / "data"
    folder.mkdir()
    np.savez(folder / "mnist_10k.npz", x_train=x, y_train=y, x_test=x[:10], y_test=y[:10])
    return folder


def settings(tmp_path, data, epochs, batch_size=16):
    return TrainSettings(dataset="mnist", family="vae", out=tmp_path / "model", max_epochs=epochs, device="cpu",
                         data_dir=str(data), batch_size=batch_size, command="test")


def test_train_writes_a_model_and_resumes_where_it_stopped(tmp_path, tiny_data):
    first = train(settings(tmp_path, tiny_data, epochs=1))
    assert first["training"]["steps"] == N_IMAGES // 16 and first["training"]["batch_size"] == 16
    model, config = load_model(tmp_path / "model")
    assert config["family"] == "vae" and model.latent_dim == config["latent_dim"]
    second = train(settings(tmp_path, tiny_data, epochs=2))
    assert second["training"]["steps"] == 2 * N_IMAGES // 16  # continued, did not start again
    state = json.loads((tmp_path / "model" / STATE_DIR / "state.json").read_text())
    assert state["step"] == 8 and state["batch_size"] == 16


def test_resume_with_another_batch_size_is_refused(tmp_path, tiny_data):
    train(settings(tmp_path, tiny_data, epochs=1))
    with pytest.raises(ValueError, match="batch size 16, not 32"):
        train(settings(tmp_path, tiny_data, epochs=2, batch_size=32))


def test_ema_moves_floats_towards_the_model_and_copies_the_rest():
    model = torch.nn.BatchNorm1d(3)
    ema = EMA(model, decay=0.9)
    with torch.no_grad():
        model.weight.fill_(2.0)
        model.num_batches_tracked.fill_(7)
    ema.update(model, step=1000)  # past the warm-up: decay = 0.9
    torch.testing.assert_close(ema.shadow.weight, torch.full((3,), 0.9 * 1.0 + 0.1 * 2.0))
    assert int(ema.shadow.num_batches_tracked) == 7


def test_learning_rate_warms_up_then_anneals_to_zero():
    from explorer.train import learning_rate_factor

    assert learning_rate_factor(0, 10, None) == pytest.approx(0.1)
    assert learning_rate_factor(500, 10, None) == 1.0
    assert learning_rate_factor(500, 0, None) == 1.0
    assert learning_rate_factor(500, 10, 0.0) == pytest.approx(1.0)
    assert learning_rate_factor(500, 10, 0.5) == pytest.approx(0.5)
    assert learning_rate_factor(500, 10, 1.0) == pytest.approx(0.0)
    assert learning_rate_factor(4, 10, 0.5) == pytest.approx(0.25)


def test_warm_start_begins_from_the_given_weights_and_records_them(tmp_path, tiny_data):
    train(settings(tmp_path, tiny_data, epochs=1))
    source, source_config = load_model(tmp_path / "model")
    warm = TrainSettings(dataset="mnist", family="vae", out=tmp_path / "warm", minutes=0, device="cpu",
                         data_dir=str(tiny_data), batch_size=16, command="test", init_from=tmp_path / "model",
                         anneal=True)
    config = train(warm)  # stops before its first step: the written weights are the source's
    model, _ = load_model(tmp_path / "warm")
    for key, value in source.state_dict().items():
        torch.testing.assert_close(model.state_dict()[key], value)
    assert config["training"]["warm_start"]["weights_sha256"] == source_config["weights_sha256"]
    assert config["training"]["warm_start"]["training"]["steps"] == source_config["training"]["steps"]
    assert "warm start: began from the weights of" in (tmp_path / "warm" / "README.md").read_text()


def test_warm_start_from_another_family_is_refused(tmp_path, tiny_data):
    train(settings(tmp_path, tiny_data, epochs=1))
    wrong = TrainSettings(dataset="mnist", family="judge", out=tmp_path / "judge", max_epochs=1, device="cpu",
                          data_dir=str(tiny_data), batch_size=16, command="test", init_from=tmp_path / "model")
    with pytest.raises(ValueError, match="mnist-vae .* cannot start a mnist-judge"):
        train(wrong)


def test_a_retrain_keeps_the_measured_sampling_section_and_says_where_it_came_from(tmp_path, tiny_data):
    from explorer.checkpoints import read_config, write_sampling

    train(settings(tmp_path, tiny_data, epochs=1))
    measured = {"guidance_interval": [0, 550], "why": "measured", "written_by": "evaluate --sweep interval"}
    write_sampling(tmp_path / "model", measured)
    again = train(settings(tmp_path, tiny_data, epochs=2))
    assert again["sampling"] == measured == read_config(tmp_path / "model")["sampling"]
    assert "carried over from" in again["training"]["kept_sections"]["sampling"]
    card = (tmp_path / "model" / "README.md").read_text()
    assert "Where this came from: carried over from" in card
