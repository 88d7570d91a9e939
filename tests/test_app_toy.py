"""The "Toy in 2-D" tab through the served app (gradio_client): its named endpoints answer with no arguments,
stream, refuse bad input with a message, and give the same particles for the same seed; a drawn set goes through
the API as the drawing editor sends it."""

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


def test_a_drawn_set_is_used_trained_and_generated_through_the_api(client, tmp_path):
    """One client is one browser session: its drawing (sent as the editor sends it) becomes its drawn set, which
    it then trains and generates from, deterministic for a seed."""
    from gradio_client import handle_file
    from PIL import Image, ImageDraw

    picture = Image.new("RGB", (200, 200), "white")
    draw = ImageDraw.Draw(picture)
    draw.rectangle((20, 20, 80, 180), fill="#1f77b4")  # class 0: a blue bar on the left
    draw.rectangle((120, 20, 180, 180), fill="#ff7f0e")  # class 1: an orange bar on the right
    picture.save(path := tmp_path / "drawing.png")
    drawing = {"background": None, "layers": [], "composite": handle_file(str(path))}
    chosen, status = client.predict(drawing, api_name="/toy_drawing")
    assert chosen == "drawn" and "blue" in status and "orange" in status
    trained = client.predict("drawn", 300, 200, api_name="/toy_train")[0]
    assert "200 steps" in trained and "done" in trained
    first = client.predict("drawn", 10, 1.0, 5, api_name="/toy_generate")
    assert "Generated 500 particles in 10 steps" in first[3] and "untrained" not in first[3]
    again = client.predict("drawn", 10, 1.0, 5, api_name="/toy_generate")
    assert again[0] == first[0]  # the same seed, the same particles
