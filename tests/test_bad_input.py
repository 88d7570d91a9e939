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
import re
import struct
import uuid
import zlib

import httpx
import numpy as np
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from PIL import Image, ImageDraw

from explorer.checks import MAX_SEED, check_seed, finite_number, whole_number
from explorer.prompts import as_text
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
    message = _raw_reply(url, api_name, data)
    return "" if message["success"] else message["output"]["error"]


def _raw_reply(url: str, api_name: str, data: list) -> dict:
    """Send an endpoint's inputs as JSON (NaN, Infinity, a lone surrogate allowed); its "process_completed" message."""
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
                return message
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
    result = client.predict(handle_file(str(files[name])), dataset="mnist", k=0, api_name="/noise_upload")
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
    (dict(guidance=1e9), r"Guidance scale must be a number between 0 and 20, got 1e\+09"),
    (dict(guidance=-1e9), r"Guidance scale must be a number between 0 and 20, got -1e\+09"),
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
    ("guidance", float("nan"), "Guidance scale must be a number between 0 and 20, got nan"),
    ("guidance", float("inf"), "Guidance scale must be a number between 0 and 20, got inf"),
    ("guidance", float("-inf"), "Guidance scale must be a number between 0 and 20, got -inf"),
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
    (dict(k=-1), r"k must be a whole number from 0 to 1000 \(noising steps"),
    (dict(k=10**9), r"k must be a whole number from 0 to 1000 \(noising steps"),
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
    ("noise", ["fashion", 0, float("nan"), "cosine", 0, None], "k must be a whole number from 0 to 1000"),
    ("noise", ["fashion", 0, float("inf"), "cosine", 0, None], "k must be a whole number from 0 to 1000"),
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


# ----------------------------------------------------------------------------- numbers given as text, prompts

@pytest.mark.parametrize("value", ["1_0", "1_000", "١٠", "１０", "nan", "inf", "-Infinity", "0x10", "1e", "", " ",
                                   b"3", [1], "1" * 5000, 10 ** 400, True])
def test_a_number_is_read_strictly(value):
    assert finite_number(value) is None
    with pytest.raises(ValueError, match="Steps must be a whole number from 1 to 1000, got"):
        whole_number(value, "Steps", 1, 1000)


@pytest.mark.parametrize("value, number", [("10", 10), (" 7 ", 7), ("-1.5", -1.5), ("2e3", 2000), (".5", 0.5),
                                           (np.int64(4), 4), (np.float32(2.5), 2.5), (3, 3)])
def test_a_plain_number_or_its_text_is_read(value, number):
    assert finite_number(value) == number


@pytest.mark.parametrize("seed", [1.5, "1.5", 2.5, "1_0", "١", 2 ** 63, "9223372036854775808", -1])
def test_a_seed_that_is_not_a_whole_number_in_range_is_refused_never_rounded(seed):
    with pytest.raises(ValueError, match=f"Seed must be a whole number from 0 to {MAX_SEED}, got"):
        check_seed(seed)


def test_a_seed_is_exact_up_to_the_largest():
    assert check_seed(MAX_SEED) == MAX_SEED and check_seed(str(MAX_SEED)) == MAX_SEED
    assert check_seed(MAX_SEED - 1) == MAX_SEED - 1  # not rounded through a float to 2⁶³
    assert check_seed(2 ** 62 + 1) == 2 ** 62 + 1 and check_seed("7") == 7 and check_seed(7.0) == 7


def test_a_refused_value_is_echoed_short():
    with pytest.raises(ValueError, match="got a number too long to write out"):
        check_seed(10 ** 5000)
    with pytest.raises(ValueError) as error:
        check_seed("9" * 5000)
    assert len(str(error.value)) < 200


@pytest.mark.parametrize("values, message", [
    (dict(steps="1_0"), "Steps must be a whole number from 1 to 1000, got '1_0'"),
    (dict(steps="１０"), "Steps must be a whole number from 1 to 1000, got '１０'"),
    (dict(seed="1_0"), "Seed must be a whole number from 0 to 9223372036854775807, got '1_0'"),
    (dict(eta="0_5"), r"η \(eta\) must be a number between 0 and 1, got '0_5'"),
], ids=lambda value: _case_id(value))
def test_a_number_sent_as_text_is_read_strictly_by_the_app(client, values, message):
    with pytest.raises(AppError, match=message):
        client.predict(**{**FEW, **values}, api_name="/generate")


@pytest.mark.parametrize("api_name, data", [
    ("impossible_request", ["fashion", "a \ud800 sneaker and a bag", 0, 3.0]),  # answered: the prompt is echoed
    ("impossible_request", ["fashion", "a \ud800 and a bag", 0, 3.0]),  # refused: the half is echoed
    ("guidance_grid", ["fashion", "\ud800 horse", "Bag", "0, 3", 1, 0, 0, "ddim", 3, False]),
    ("generate", ["fashion", "a \ud800 sneaker", "T-shirt/top", 7, "ddim", 3, 2.0, 0.0]),
])
def test_a_lone_surrogate_in_a_prompt_gets_an_answer(client, running_app, api_name, data):
    reply = _raw_reply(running_app, api_name, data)  # a lone surrogate in the reply broke the event stream
    text = json.dumps(reply, ensure_ascii=False)
    assert "\ufffd" in text
    text.encode("utf-8")
    assert len(client.predict(api_name="/noise")) == 8


def _texts(result) -> str:
    return "\n".join(item for item in result if isinstance(item, str))


def test_a_prompt_is_echoed_as_text_not_markdown(client):
    typed = "![x](http://127.0.0.1:9/x.png) <script>alert(1)</script> sneaker"
    result = client.predict(**{**FEW, "prompt": typed}, api_name="/generate")
    assert f"'{as_text(typed)}' → Sneaker" in _texts(result)
    assert "![x](" not in _texts(result) and not re.search(r"(?<!\\)<script", _texts(result))
    pair = client.predict(prompt=f"{typed} and <img src=http://127.0.0.1:9/y.png> bag", api_name="/impossible_request")
    assert as_text("<img src=http://127.0.0.1:9/y.png> bag") in _texts(pair)
    assert not re.search(r"(?<!\\)<img", _texts(pair))
    grid = client.predict(prompt="**horse** <b>x</b>", steps=3, seeds=1, api_name="/guidance_grid")
    assert f"'{as_text('**horse** <b>x</b>')}' names none" in _texts(grid)


@pytest.mark.parametrize("seed", [1.5, 2.5])
def test_a_seed_that_is_not_whole_is_refused_by_the_app(client, seed):
    with pytest.raises(AppError, match=f"Seed must be a whole number from 0 to 9223372036854775807, got {seed}"):
        client.predict(**{**FEW, "seed": seed}, api_name="/generate")


@pytest.mark.parametrize("api_name, values, message", [
    ("/generate", dict(guidance="1_0"), "Guidance scale must be a number between 0 and 20, got '1_0'"),
    ("/guidance_grid", dict(scales="0, 1_0", steps=3, seeds=1), "'1_0' is not a number"),
], ids=lambda value: _case_id(value))
def test_a_guidance_scale_sent_as_text_is_read_strictly(client, api_name, values, message):
    with pytest.raises(AppError, match=message):
        client.predict(**{**(FEW if api_name == "/generate" else {}), **values}, api_name=api_name)


@pytest.mark.parametrize("api_name, data", [
    ("generate", ["fashion", ["a"], "T-shirt/top", 7, "ddim", 3, 2.0, 0.0]),
    ("impossible_request", ["fashion", ["a sneaker", "a bag"], 0, 3.0]),
    ("guidance_grid", ["fashion", {"text": "a bag"}, "Bag", "0, 3", 1, 0, 0, "ddim", 3, False]),
])
def test_a_prompt_that_is_not_text_is_refused_by_the_app(running_app, api_name, data):
    assert "The prompt must be text, got " in _raw(running_app, api_name, data)


@pytest.mark.parametrize("api_name, data", [("generate", ["fashion"]), ("impossible_request", []),
                                            ("noise", ["fashion", 0])])
def test_too_few_inputs_get_a_clear_message(running_app, api_name, data):
    message = _raw(running_app, api_name, data)
    assert f"/{api_name} takes " in message and "object at 0x" not in message, message


@pytest.mark.parametrize("api_name, data", [
    ("impossible_request", ["fashion", "<img src=http://127.0.0.1:9/z.png> a and a bag", 0, 3.0]),
    ("generate", ["fashion", "", "<img src=http://127.0.0.1:9/z.png>", 7, "ddim", 3, 2.0, 0.0]),
])
def test_an_error_message_shows_the_words_typed_as_text(running_app, api_name, data):
    message = _raw(running_app, api_name, data)  # a gr.Error's message is shown as (sanitised) HTML
    assert "&lt;img src=http://127.0.0.1:9/z.png&gt;" in message and "<img" not in message, message
