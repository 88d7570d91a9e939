"""The "Finish my drawing" section of the Remove-noise tab through the real server: /finish_drawing driven with
gradio_client (no arguments, a fixed seed, streaming, bad values) and its opening (its numbers held back)."""

from __future__ import annotations

import numpy as np
import pytest
from gradio_client.exceptions import AppError
from PIL import Image

from explorer.demos import finish_drawing as demo

OUTPUTS = 5  # the picture going into the step, the guess, picture | noised | finished, the verdict, the strip


def _pixels(path: str) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("L"))


def test_finish_drawing_with_no_arguments_uses_a_real_picture(client):
    result = client.predict(api_name="/finish_drawing")
    assert len(result) == OUTPUTS
    assert _pixels(result[0]).shape == _pixels(result[1]).shape == (280, 280)
    assert f"From k = {demo.DEFAULT_K}" in result[3] and "no class" in result[3] and "seed 0" in result[3]
    assert "real picture #0" in result[3] and "the judge sees" in result[3]
    assert _pixels(result[4]).ndim == 2 and _pixels(result[2]).ndim == 2


def test_the_same_seed_gives_the_same_pictures_and_another_seed_others(client):
    args = dict(dataset="mnist", gallery_index=3, k=600, class_name="seven", seed=41)
    first = client.predict(**args, api_name="/finish_drawing")
    second = client.predict(**args, api_name="/finish_drawing")
    other = client.predict(**{**args, "seed": 42}, api_name="/finish_drawing")
    assert "told: seven" in first[3]
    for i in (0, 1, 2, 4):
        np.testing.assert_array_equal(_pixels(first[i]), _pixels(second[i]))
    assert not np.array_equal(_pixels(first[2]), _pixels(other[2]))


def test_finish_drawing_streams_steps_before_the_result(client):
    job = client.submit(k=800, class_name="Dress", seed=43, api_name="/finish_drawing")
    updates = list(job)
    assert 2 <= len(updates) <= demo.MAX_STREAMED_FRAMES + 1
    assert "Step 1 of 13" in updates[0][3] and "From k = 800" in updates[-1][3]


def test_k_0_gives_the_picture_back(client):
    result = client.predict(k=0, api_name="/finish_drawing")
    assert "From k = 0" in result[3] and "**1.00**" in result[3]


@pytest.mark.parametrize("values, message", [
    (dict(k=5000), "k must be a whole number from 0 to 1000"),
    (dict(k=-1), "k must be a whole number"),
    (dict(class_name="Unicorn"), "Known classes"),
    (dict(seed=-3), "seed must be a whole number"),
    (dict(gallery_index=99999), "gallery image number"),
])
def test_bad_values_get_a_clear_message_and_the_server_keeps_serving(client, values, message):
    with pytest.raises(AppError, match=message):
        client.predict(**values, api_name="/finish_drawing")
    assert len(client.predict(api_name="/finish_drawing")) == OUTPUTS


def test_the_section_opens_filled_with_its_numbers_held_back(client):
    """The opening says what was run; its likeness and the judge's words wait for a guess (and keep the demo's
    first screen short); a student's own run says them."""
    opening = client.predict(api_name="/finish_drawing_opening")
    assert len(opening) == OUTPUTS and opening[3].startswith(f"**From k = {demo.DEFAULT_K}** (no class, seed 0).")
    assert "Your own run shows the numbers" in opening[3]
    assert "likeness" not in opening[3] and "judge" not in opening[3]
