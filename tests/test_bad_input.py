"""Bad input through the real server: every bad value or file gets a clear message, and the server keeps serving.

Driven with gradio_client against ``running_app``, except where a client cannot send the value
(NaN and ∞ are not JSON for gradio_client: those go raw to the queue) and the over-size upload
(posted to Gradio's upload route, which must answer HTTP 413). A number outside a slider's or a
number box's range gets the project's message, naming the setting and its allowed range (the app's
sliders and number boxes leave it to the demos' validators, common.leave_ranges_to_validators, not to
Gradio's bare "Value 1000000000 is greater than maximum value 1000."), also after a run has changed
a slider's range.
"""

from __future__ import annotations

import json
import struct
import uuid
import zlib

import httpx
import numpy as np
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from PIL import Image, ImageDraw

from explorer.uploads import MAX_BYTES

UPLOAD_ASK = "Please upload a PNG or JPEG"
FEW = dict(sampler="ddim", steps=3, guidance=2.0, seed=7)  # the normal request after each bad one
GENERATE_INPUTS = ["dataset", "prompt", "class_name", "seed", "sampler", "steps", "guidance", "eta"]
GENERATE_DEFAULTS = ["fashion", "", "T-shirt/top", 7, "ddim", 3, 2.0, 0.0]  # /generate's inputs, in that order


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """name → path of every test picture, good and bad."""
    folder = tmp_path_factory.mktemp("uploads")
    return {name: make(folder) for name, make in PICTURES.items()}


# ----------------------------------------------------------------------------- the pictures

def _ring(mode: str = "L", ink=0, paper=255, size=(120, 90)) -> Image.Image:
    im = Image.new(mode, size, paper)
    ImageDraw.Draw(im).ellipse((30, 15, 90, 75), outline=ink, width=8)
    return im


def _saved(im: Image.Image, path, **kwargs):
    im.save(path, **kwargs)
    return path


def _truncated_png(folder):
    noise = np.random.default_rng(0).integers(0, 255, (200, 200), dtype=np.uint8)
    path = _saved(Image.fromarray(noise), folder / "cut.png")
    path.write_bytes(path.read_bytes()[:3000])
    return path


def _huge_header_png(folder):
    """A real 8×8 PNG whose header (and its CRC) claims 20000×20000 pixels."""
    path = _saved(Image.new("L", (8, 8), 0), folder / "huge.png")
    data = bytearray(path.read_bytes())
    data[16:24] = struct.pack(">II", 20000, 20000)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    path.write_bytes(bytes(data))
    return path


def _text_named_png(folder):
    path = folder / "notes.png"
    path.write_text("this is not a picture\n")
    return path


def _cmyk_jpeg(folder):
    im = Image.new("CMYK", (120, 90), (0, 0, 0, 0))
    ImageDraw.Draw(im).ellipse((30, 15, 90, 75), outline=(0, 0, 0, 255), width=8)
    return _saved(im, folder / "cmyk.jpg", quality=95)


def _png_16_bit(folder):
    values = np.asarray(_ring(ink=255, paper=0), dtype=np.uint16) * 257
    return _saved(Image.fromarray(values), folder / "sixteen.png")


def _rgba_png(folder):
    im = Image.new("RGBA", (100, 100), (0, 0, 0, 0))
    ImageDraw.Draw(im).ellipse((20, 20, 80, 80), outline=(0, 0, 0, 255), width=8)
    return _saved(im, folder / "rgba.png")


def _palette_png(folder):
    return _saved(_ring("RGB", ink=(200, 0, 0), paper=(255, 255, 255)).convert("P"), folder / "palette.png")


def _animated_gif(folder):
    second = Image.new("L", (120, 90), 0)
    ImageDraw.Draw(second).rectangle((0, 0, 60, 90), fill=255)
    path = folder / "animated.gif"
    _ring(ink=255, paper=0).save(path, save_all=True, append_images=[second], duration=100, loop=0)
    return path


PICTURES = {"truncated": _truncated_png, "huge header": _huge_header_png, "text named png": _text_named_png,
            "cmyk jpeg": _cmyk_jpeg, "16-bit png": _png_16_bit, "rgba png": _rgba_png,
            "palette png": _palette_png, "animated gif": _animated_gif}


# ----------------------------------------------------------------------------- helpers

def _pixels(path: str) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("L"))


def _assert_upscaled_28(preview: np.ndarray) -> None:
    """A 280×280 picture made of 10×10 blocks of a bright-on-black 28×28 image (digit framing: black border)."""
    assert preview.shape == (280, 280)
    small = preview[::10, ::10]
    np.testing.assert_array_equal(preview, np.kron(small, np.ones((10, 10), dtype=np.uint8)))
    assert small.max() == 255 and small[0].max() == small[-1].max() == 0


def _assert_still_serving(client) -> None:
    """The normal request after a bad one: answered in full (from the cache after the first time)."""
    result = client.predict(**FEW, api_name="/generate")
    assert "Done: 3 steps" in result[3]


def _case_id(value) -> str | None:
    """A short test id for a dict of arguments, e.g. "steps=0"; pytest's own for anything else."""
    if not isinstance(value, dict):
        return None
    return ",".join(f"{key}={str(v)[:12]}" for key, v in value.items())


def _raw(url: str, api_name: str, data: list) -> str:
    """Send an endpoint's inputs as JSON that may hold NaN or Infinity; the error message, or "" on success."""
    config = httpx.get(url + "config").json()
    fn_index = next(d["id"] for d in config["dependencies"] if d.get("api_name") == api_name)
    session = uuid.uuid4().hex
    body = json.dumps({"data": data, "fn_index": fn_index, "session_hash": session, "event_data": None,
                       "trigger_id": None}, allow_nan=True)
    joined = httpx.post(url + "gradio_api/queue/join", content=body, headers={"Content-Type": "application/json"})
    joined.raise_for_status()
    with httpx.stream("GET", url + "gradio_api/queue/data", params={"session_hash": session}, timeout=120) as events:
        for line in events.iter_lines():
            message = json.loads(line[len("data:"):]) if line.startswith("data:") else {}
            if message.get("msg") == "process_completed":
                return "" if message["success"] else message["output"]["error"]
    raise AssertionError("the event never completed")


# ----------------------------------------------------------------------------- uploads

@pytest.mark.parametrize("name, message", [
    ("truncated", "damaged or incomplete"),
    ("huge header", "too large to read safely"),
    ("text named png", "not an image this app can read"),
])
def test_broken_upload_gives_our_message(client, files, name, message):
    with pytest.raises(AppError, match=message) as error:
        client.predict(handle_file(str(files[name])), api_name="/noise_upload")
    assert UPLOAD_ASK in str(error.value)
    assert len(client.predict(api_name="/noise")) == 8


@pytest.mark.parametrize("name", ["cmyk jpeg", "16-bit png", "rgba png", "palette png", "animated gif"])
def test_odd_but_valid_upload_becomes_a_28x28_picture(client, files, name):
    result = client.predict(handle_file(str(files[name])), dataset="mnist", t=0, api_name="/noise_upload")
    assert "your picture" in result[2]
    _assert_upscaled_28(_pixels(result[-1]))
    if name == "animated gif":  # the first frame, a ring: its hole stays black
        assert _pixels(result[-1])[::10, ::10][14, 14] == 0


def test_upload_over_the_size_limit_is_refused_with_413(client, running_app, files):
    too_big = {"files": ("big.png", b"\0" * (MAX_BYTES + 1), "image/png")}
    response = httpx.post(running_app + "gradio_api/upload", files=too_big, timeout=60)
    assert response.status_code == 413
    result = client.predict(handle_file(str(files["palette png"])), dataset="mnist", api_name="/noise_upload")
    _assert_upscaled_28(_pixels(result[-1]))


# ----------------------------------------------------------------------------- values

@pytest.mark.parametrize("values, message", [
    (dict(steps=0), "Steps must be a whole number from 1 to 1000, got 0"),
    (dict(steps=-1), "Steps must be a whole number from 1 to 1000, got -1"),
    (dict(steps=10**9), "Steps must be a whole number from 1 to 1000, got 1000000000"),
    (dict(steps=2.5), "Steps must be a whole number from 1 to 1000, got 2.5"),
    (dict(guidance=1e9), r"Guidance scale must be between 0 and 20, got 1e\+09"),
    (dict(guidance=-1e9), r"Guidance scale must be between 0 and 20, got -1e\+09"),
    (dict(eta=2), r"η \(eta\) must be a number between 0 and 1, got 2"),
    (dict(eta=-0.5), r"η \(eta\) must be a number between 0 and 1, got -0.5"),
    (dict(class_name="Horse"), "Unknown class 'Horse' for Fashion. Known classes: T-shirt/top"),
    (dict(class_name=99), "Class 99 is out of range for Fashion"),
    (dict(dataset="cifar"), r"'cifar' .* is not in the list of choices: \['fashion', 'mnist'\]"),
    (dict(sampler="euler"), r"'euler' .* is not in the list of choices: \['ddpm', 'ddim', 'dpm\+\+'\]"),
    (dict(seed=-1), "Seed must be a whole number from 0 to 9223372036854775807, got -1"),
    (dict(seed=2**64), "Seed must be a whole number from 0 to 9223372036854775807, got 18446744073709551616"),
    (dict(prompt="a shoe " * 100), "The prompt is too long"),
], ids=lambda value: _case_id(value))
def test_bad_generate_value_gives_a_clear_error(client, values, message):
    with pytest.raises(AppError, match=message):
        client.predict(**{**FEW, **values}, api_name="/generate")
    _assert_still_serving(client)


@pytest.mark.parametrize("setting, value, message", [
    ("guidance", float("nan"), "Guidance scale must be a finite number, got nan"),
    ("guidance", float("inf"), "Guidance scale must be a finite number, got inf"),
    ("guidance", float("-inf"), "Guidance scale must be a finite number, got -inf"),
    ("steps", float("inf"), "Steps must be a whole number from 1 to 1000, got inf"),
    ("eta", float("nan"), "η (eta) must be a number between 0 and 1, got nan"),
    ("seed", float("-inf"), "Seed must be a whole number from 0 to 9223372036854775807, got -inf"),
])
def test_generate_value_that_is_not_a_finite_number_gives_a_clear_error(client, running_app, setting, value,
                                                                        message):
    data = list(GENERATE_DEFAULTS)
    data[GENERATE_INPUTS.index(setting)] = value
    assert message in _raw(running_app, "generate", data)
    _assert_still_serving(client)


@pytest.mark.parametrize("values, message", [
    (dict(t=-1), r"t must be a whole number from 0 to 1000 \(noising steps"),
    (dict(t=10**9), r"t must be a whole number from 0 to 1000 \(noising steps"),
    (dict(gallery_index=10**6), "The gallery image number must be a whole number from 0 to 199"),
    (dict(schedule="sqrt"), r"'sqrt' .* is not in the list of choices: \['linear', 'cosine'\]"),
    (dict(dataset="cifar"), r"'cifar' .* is not in the list of choices"),
    (dict(seed=-1), r"The seed must be a whole number from 0 to 9223372036854775807 .*; got -1"),
    (dict(seed=2**64), r"The seed must be a whole number from 0 to 9223372036854775807 .*; got 18446744073709551616"),
], ids=lambda value: _case_id(value))
def test_bad_noise_value_gives_a_clear_error(running_app, values, message):
    visitor = Client(running_app, verbose=False)  # a new session: no uploaded picture replaces the gallery's
    with pytest.raises(AppError, match=message):
        visitor.predict(**values, api_name="/noise")
    assert len(visitor.predict(api_name="/noise")) == 8


@pytest.mark.parametrize("api_name, values, message", [
    ("/guidance_grid", dict(steps=10**9), "Steps must be a whole number from 1 to 1000, got 1000000000"),
    ("/guidance_grid", dict(steps=0), "Steps must be a whole number from 1 to 1000, got 0"),
    ("/guidance_grid", dict(seeds=99), r"seeds \(rows\) must be a whole number from 1 to 8, got 99"),
    ("/guidance_grid", dict(step_to_show=-3), "step to show .* must be a whole number from 0 to 100, got -3"),
    ("/guidance_grid", dict(first_seed=-1), "Seed must be a whole number from 0 to 9223372036854775807, got -1"),
    ("/compare", dict(steps=10**9), "Steps must be a whole number from 1 to 1000, got 1000000000"),
    ("/compare", dict(seeds=0), "seeds must be a whole number from 1 to 8, got 0"),
    ("/compare", dict(first_seed=2**64), "Seed must be a whole number from 0 to 9223372036854775807"),
    ("/latent_point", dict(x=1e9), "The map's x must be a number from -4 to 4, got 1000000000.0"),
    ("/latent_point", dict(y=-50), "The map's y must be a number from -4 to 4, got -50"),
    ("/interpolate", dict(picture_b=10**6), "Picture b must be a whole number from 0 to 199, got 1000000"),
    ("/interpolate", dict(seed_a=-1), "Seed must be a whole number from 0 to 9223372036854775807, got -1"),
], ids=lambda value: _case_id(value))
def test_slider_or_number_out_of_range_gets_the_setting_and_its_range(client, api_name, values, message):
    with pytest.raises(AppError, match=message):
        client.predict(**values, api_name=api_name)
    assert len(client.predict(api_name="/noise")) == 8


@pytest.mark.parametrize("api_name, data, message", [
    ("noise", ["fashion", 0, float("nan"), "cosine", 0, None], "t must be a whole number from 0 to 1000"),
    ("noise", ["fashion", 0, float("inf"), "cosine", 0, None], "t must be a whole number from 0 to 1000"),
    ("latent_point", ["fashion", "T-shirt/top", float("-inf"), 0], "The map's x must be a number from -4 to 4"),
])
def test_slider_that_is_not_a_finite_number_gets_the_setting_and_its_range(client, running_app, api_name, data,
                                                                            message):
    assert message in _raw(running_app, api_name, data)
    assert len(client.predict(api_name="/noise")) == 8


def test_scrubbing_after_a_run_takes_any_step_to_the_nearest_one(running_app):
    visitor = Client(running_app, verbose=False)  # its own session: its own finished run
    with pytest.raises(AppError, match="Make a picture first"):
        visitor.predict(2, api_name="/generate_scrub")
    visitor.predict(**FEW, api_name="/generate")  # 3 steps: the run changes the slider's range to 1 … 3
    assert "Step 3 of 3" in visitor.predict(10**9, api_name="/generate_scrub")[3]
    assert "Step 1 of 3" in visitor.predict(-5, api_name="/generate_scrub")[3]
    assert "Step 2 of 3" in visitor.predict(2, api_name="/generate_scrub")[3]
    with pytest.raises(AppError, match="must be a whole number from 1 to 3, got 'two'"):
        visitor.predict("two", api_name="/generate_scrub")


def test_after_a_run_changed_the_step_slider_a_bad_step_still_gets_the_setting_and_its_range(running_app):
    visitor = Client(running_app, verbose=False)  # its own session
    visitor.predict(steps=4, api_name="/guidance_grid")  # the slider's range becomes 0 … 4 in this session
    message = r"The step to show \(0 = the middle step\) must be a whole number from 0 to 100, got -3"
    with pytest.raises(AppError, match=message):  # the project's message, not Gradio's "Value -3 is less than …"
        visitor.predict(steps=4, step_to_show=-3, api_name="/guidance_grid")


def test_identical_requests_are_answered_from_the_cache(client):
    first = client.predict(**{**FEW, "seed": 8}, api_name="/generate")
    second = client.predict(**{**FEW, "seed": 8}, api_name="/generate")
    assert "from the cache" not in first[3] and "Answered from the cache" in second[3]
    np.testing.assert_array_equal(_pixels(first[7]), _pixels(second[7]))
