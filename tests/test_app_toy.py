"""The "Toy in 2-D" tab through the served app (gradio_client): its named endpoints answer with no arguments,
stream, refuse bad input with a message, and give the same particles for the same seed."""

from __future__ import annotations

import pytest


def test_forward_and_generate_answer_with_no_arguments(client):
    cloud, arrows = client.predict(api_name="/toy_forward")
    assert cloud and arrows
    first = client.predict(api_name="/toy_generate")
    particles, scrub, panels, status = first
    assert "Generated 500 particles in 50 steps" in status and "trained 2,500 steps" in status
    assert particles and panels
    again = client.predict("moons", 50, 1.0, 0, api_name="/toy_generate")
    assert again[0] == particles and again[2] == panels  # the same seed: the same particles


def test_training_streams_and_ends(client):
    job = client.submit("spiral", 300, 400, api_name="/toy_train")
    outputs = list(job)
    assert outputs, "no progress was streamed"
    status = job.result()[0]
    assert "400 steps" in status and "done" in status


@pytest.mark.parametrize("api_name, args, message", [
    ("/toy_generate", ("moons", 0, 1.0, 0), "Steps must be a whole number from 1 to 200"),
    ("/toy_generate", ("moons", 10, "nan", 0), "Guidance scale must be"),
    ("/toy_generate", ("blob", 10, 1.0, 0), "not in the list of choices"),
    ("/toy_generate", ("drawn", 10, 1.0, 0), "There is no drawing yet"),
    ("/toy_forward", ("moons", 5000), "k must be a whole number from 0 to 1000"),
    ("/toy_train", ("moons", 300, 10 ** 9), "Training steps must be a whole number from 1 to 5000"),
])
def test_bad_input_gets_a_message(client, api_name, args, message):
    with pytest.raises(Exception, match=message):
        client.predict(*args, api_name=api_name)
