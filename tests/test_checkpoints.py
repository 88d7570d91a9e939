"""Model folders: exact save→load round trip, SHA-256 check, strict loading, no pickle."""

import json

import pytest
import torch

from explorer.checkpoints import load_model, save_model
from explorer.nets.unet import UNet, UNetConfig

TINY = UNetConfig(base_channels=8, channel_mults=(1, 2), blocks_per_level=1, num_classes=3)


def _tiny_unet():
    torch.manual_seed(0)
    net = UNet(TINY)
    with torch.no_grad():
        for p in net.parameters():
            p.add_(0.01 * torch.randn_like(p))  # make the zero-initialised layers non-trivial
    return net.eval()


def test_round_trip_is_exact(tmp_path):
    net = _tiny_unet()
    save_model(tmp_path / "m", net, {"family": "diffusion", "architecture": {"type": "unet", **TINY.to_dict()}})
    loaded, config = load_model(tmp_path / "m")
    assert config["format_version"] == 1 and len(config["weights_sha256"]) == 64
    for a, b in zip(net.state_dict().values(), loaded.state_dict().values()):
        assert torch.equal(a, b)
    x, t, y = torch.randn(2, 1, 28, 28), torch.tensor([5, 900]), torch.tensor([0, 3])
    with torch.no_grad():
        assert torch.equal(net(x, t, y), loaded.eval()(x, t, y))


def test_corrupt_weights_are_refused(tmp_path):
    save_model(tmp_path / "m", _tiny_unet(), {"architecture": {"type": "unet", **TINY.to_dict()}})
    weights = tmp_path / "m" / "model.safetensors"
    raw = bytearray(weights.read_bytes())
    raw[-1] ^= 0xFF
    weights.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match="SHA-256"):
        load_model(tmp_path / "m")


def test_architecture_mismatch_fails_strictly(tmp_path):
    save_model(tmp_path / "m", _tiny_unet(), {"architecture": {"type": "unet", **TINY.to_dict()}})
    config_path = tmp_path / "m" / "config.json"
    config = json.loads(config_path.read_text())
    config["architecture"]["base_channels"] = 16
    config_path.write_text(json.dumps(config))
    with pytest.raises(RuntimeError):
        load_model(tmp_path / "m")


def test_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="config.json"):
        load_model(tmp_path / "nothing")


def test_float16_storage_halves_the_file_and_loads_as_float32(tmp_path):
    net = _tiny_unet()
    arch = {"architecture": {"type": "unet", **TINY.to_dict()}}
    save_model(tmp_path / "full", net, arch)
    save_model(tmp_path / "half", net, arch, weights_dtype="float16")
    full, half = (tmp_path / p / "model.safetensors" for p in ("full", "half"))
    assert half.stat().st_size < 0.6 * full.stat().st_size
    loaded, config = load_model(tmp_path / "half")
    assert config["weights_dtype"] == "float16"
    for a, b in zip(net.state_dict().values(), loaded.state_dict().values()):
        assert b.dtype == a.dtype
        torch.testing.assert_close(b, a.half().to(a.dtype), rtol=0, atol=0)
