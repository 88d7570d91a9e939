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
