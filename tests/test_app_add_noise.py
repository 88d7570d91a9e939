"""The "Add noise" tab through the real server: /noise and /noise_upload driven with gradio_client."""

from __future__ import annotations

import numpy as np
import pytest
from gradio_client import handle_file
from PIL import Image, ImageDraw

OUTPUTS = 8  # x_t, noise, numbers, strip, schedule plot, histogram, comparison, comparison table


def _pixels(path: str) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("L"))


def test_noise_with_no_arguments_uses_the_defaults(client):
    result = client.predict(api_name="/noise")
    assert len(result) == OUTPUTS
    x_t = _pixels(result[0])
    assert x_t.shape == (280, 280)
    assert "k = 250" in result[2] and "cosine" in result[2] and "#0" in result[2]
    assert result[4]["type"] == "plotly" and result[5]["type"] == "plotly"
    assert "static: spread" in result[7]


def test_noise_with_explicit_arguments_is_reproducible(client):
    args = dict(dataset="mnist", gallery_index=12, k=600, schedule="linear", seed=42)
    first, second = client.predict(**args, api_name="/noise"), client.predict(**args, api_name="/noise")
    assert "k = 600" in first[2] and "linear" in first[2]
    for i in (0, 1, 3, 6):  # every image output, pixel for pixel
        np.testing.assert_array_equal(_pixels(first[i]), _pixels(second[i]))
    other = client.predict(**{**args, "seed": 43}, api_name="/noise")
    assert not np.array_equal(_pixels(first[0]), _pixels(other[0]))


def test_bad_value_gives_a_clear_error_and_the_server_keeps_serving(client):
    with pytest.raises(Exception, match="gallery image number"):
        client.predict(gallery_index=150.5, api_name="/noise")
    assert len(client.predict(api_name="/noise")) == OUTPUTS


def test_upload_is_converted_and_noised(client, tmp_path):
    path = tmp_path / "ring.png"
    im = Image.new("RGB", (300, 200), "white")
    ImageDraw.Draw(im).ellipse((75, 25, 225, 175), outline="black", width=14)
    im.save(path)
    result = client.predict(handle_file(str(path)), dataset="mnist", k=0, api_name="/noise_upload")
    assert "your picture" in result[2]
    clean = _pixels(result[0])
    assert clean[:30].max() == 0 and clean.max() == 255  # bright ring in a 20 px box on black, inverted


def test_broken_upload_gives_the_upload_message(client, tmp_path):
    path = tmp_path / "cut.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (200, 200), dtype=np.uint8)).save(path)
    path.write_bytes(path.read_bytes()[:3000])
    with pytest.raises(Exception, match="PNG or JPEG"):
        client.predict(handle_file(str(path)), api_name="/noise_upload")
