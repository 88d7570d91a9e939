"""The "Watch it learn" section of the Add-noise tab through the real server: /watch_it_learn with no arguments,
with a fixed seed, bad values, and its opening."""

from __future__ import annotations

import numpy as np
import pytest
from gradio_client.exceptions import AppError
from PIL import Image

from explorer.demos import watch_it_learn as demo

OUTPUTS = 4  # what they are shown, the grid, the numbers, the loss chart


def _pixels(path: str) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("L"))


def test_watch_it_learn_with_no_arguments(client):
    shown, grid, numbers, chart = client.predict(api_name="/watch_it_learn")
    assert _pixels(shown).ndim == _pixels(grid).ndim == 2
    assert f"k = {demo.DEFAULT_K}" in numbers and "untrained" in numbers and "real picture #0" in numbers
    assert chart["type"] == "plotly"


def test_the_same_seed_gives_the_same_grid(client):
    first = client.predict(gallery_index=4, k=200, seed=31, api_name="/watch_it_learn")
    second = client.predict(gallery_index=4, k=200, seed=31, api_name="/watch_it_learn")
    np.testing.assert_array_equal(_pixels(first[1]), _pixels(second[1]))


@pytest.mark.parametrize("values, message", [(dict(k=0), "k must be a whole number from 1 to 1000"),
                                             (dict(seed=-1), "seed must be a whole number"),
                                             (dict(gallery_index=-3), "gallery image number")])
def test_bad_values_get_a_clear_message_and_the_server_keeps_serving(client, values, message):
    with pytest.raises(AppError, match=message):
        client.predict(**values, api_name="/watch_it_learn")
    assert len(client.predict(api_name="/watch_it_learn")) == OUTPUTS


def test_the_section_opens_filled_with_its_measurements_held_back(client):
    opening = client.predict(api_name="/watch_it_learn_opening")
    assert len(opening) == OUTPUTS and "Your own run shows the numbers" in opening[2]
