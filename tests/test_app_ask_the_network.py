"""The Add-noise tab's section "Ask the network" through the real server: /ask_the_network driven with
gradio_client, with no arguments, with explicit ones (reproducible), at k = 0, and with bad values (the project's
message, the server keeps serving). Its own module: a session that has uploaded a picture in Add noise asks about
that picture."""

from __future__ import annotations

import numpy as np
import pytest
from gradio_client.exceptions import AppError
from PIL import Image


def _pixels(path: str) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("L"))


def test_ask_the_network_with_no_arguments(client):
    noise_strip, picture_strip, numbers, chart = client.predict(api_name="/ask_the_network")
    assert _pixels(noise_strip).shape[1] > 3 * 168 and _pixels(picture_strip).shape[1] > 3 * 168
    assert "k = 250" in numbers and "told the class: T-shirt/top" in numbers and "off by" in numbers
    assert chart["type"] == "plotly"


def test_ask_the_network_with_arguments_is_reproducible(client):
    args = dict(dataset="mnist", gallery_index=5, k=800, seed=3)
    first = client.predict(**args, api_name="/ask_the_network")
    second = client.predict(**args, api_name="/ask_the_network")
    assert "k = 800" in first[2] and "real picture #5" in first[2]
    np.testing.assert_array_equal(_pixels(first[0]), _pixels(second[0]))


def test_ask_the_network_at_t_0_says_there_is_nothing_to_guess(client):
    assert "nothing to guess" in client.predict(k=0, api_name="/ask_the_network")[2]


@pytest.mark.parametrize("api_name, values, message", [
    ("/ask_the_network", dict(k=5000), "k must be a whole number from 1 to 1000"),
    ("/ask_the_network", dict(gallery_index=-1), "gallery image number"),
])
def test_bad_values_get_the_projects_message_and_the_server_keeps_serving(client, api_name, values, message):
    with pytest.raises(AppError, match=message):
        client.predict(**values, api_name=api_name)
    assert len(client.predict(api_name=api_name)) >= 3
