"""explorer.uploads: every kind of picture becomes a 28×28 bright-on-black image, or a clear UploadError."""

from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest
from PIL import Image, ImageDraw

from explorer.uploads import MAX_BYTES, BlankImageError, UploadError, check_drawing, to_training_style


def _ring(size=(120, 90), ink=0, paper=255, mode="L") -> Image.Image:
    """A ring drawn in ``ink`` on ``paper``: the shape every test looks for."""
    im = Image.new(mode, size, paper)
    ImageDraw.Draw(im).ellipse((30, 15, 90, 75), outline=ink, width=8)
    return im


def _assert_training_style(out: np.ndarray) -> None:
    assert out.shape == (28, 28) and out.dtype == np.uint8
    assert out.max() == 255  # a bright object
    assert out[0].max() == out[-1].max() == out[:, 0].max() == out[:, -1].max() == 0  # black frame
    rows, cols = np.nonzero(out)
    weights = out[rows, cols].astype(float)
    assert abs(np.average(rows + 0.5, weights=weights) - 14) < 1.0  # centred by centre of mass
    assert abs(np.average(cols + 0.5, weights=weights) - 14) < 1.0


def _save(im: Image.Image, path, **kwargs):
    im.save(path, **kwargs)
    return path


# ----------------------------------------------------------------------------- formats and modes

def test_rgb_png_black_on_white_is_inverted(tmp_path):
    out = to_training_style(_save(_ring(mode="RGB", ink=(0, 0, 0), paper=(255, 255, 255)), tmp_path / "a.png"))
    _assert_training_style(out)
    assert out[14, 14] == 0  # the hole of the ring stays background


def test_white_on_black_is_kept_and_fits_the_box(tmp_path):
    out = to_training_style(_save(_ring(ink=255, paper=0), tmp_path / "a.png"), box=20)
    _assert_training_style(out)
    rows, cols = np.nonzero(out)
    assert max(rows.max() - rows.min(), cols.max() - cols.min()) + 1 <= 20


def test_box_28_fills_the_frame(tmp_path):
    out = to_training_style(_save(_ring(ink=255, paper=0), tmp_path / "a.png"), box=28)
    assert np.nonzero(out.max(axis=0))[0].size >= 26


def test_rgba_png_with_transparent_background(tmp_path):
    im = Image.new("RGBA", (100, 100), (0, 0, 0, 0))
    ImageDraw.Draw(im).ellipse((20, 20, 80, 80), outline=(0, 0, 0, 255), width=8)  # black ink, no paper
    _assert_training_style(to_training_style(_save(im, tmp_path / "a.png")))


def test_palette_png(tmp_path):
    _assert_training_style(to_training_style(_save(_ring(mode="RGB", ink=(200, 0, 0), paper=(255, 255, 255))
                                                   .convert("P"), tmp_path / "a.png")))


def test_cmyk_jpeg(tmp_path):
    im = Image.new("CMYK", (120, 90), (0, 0, 0, 0))  # white paper
    ImageDraw.Draw(im).ellipse((30, 15, 90, 75), outline=(0, 0, 0, 255), width=8)  # black ink
    _assert_training_style(to_training_style(_save(im, tmp_path / "a.jpg", quality=95)))


def test_16_bit_png(tmp_path):
    values = (np.asarray(_ring(ink=255, paper=0), dtype=np.uint16) * 257)  # 0 … 65535
    path = _save(Image.fromarray(values), tmp_path / "a.png")
    assert Image.open(path).mode.startswith("I")
    _assert_training_style(to_training_style(path))


def test_animated_gif_uses_the_first_frame(tmp_path):
    first, second = _ring(ink=255, paper=0), Image.new("L", (120, 90), 0)
    ImageDraw.Draw(second).rectangle((0, 0, 60, 90), fill=255)
    path = tmp_path / "a.gif"
    first.save(path, save_all=True, append_images=[second], duration=100, loop=0)
    out = to_training_style(path)
    _assert_training_style(out)
    assert out[14, 14] == 0  # the ring's hole, not the rectangle


def test_exif_orientation_is_applied(tmp_path):
    im = Image.new("L", (100, 60), 0)
    ImageDraw.Draw(im).rectangle((10, 25, 90, 35), fill=255)  # a horizontal bar …
    exif = Image.Exif()
    exif[0x0112] = 6  # … stored sideways: "rotate 90° clockwise to view"
    out = to_training_style(_save(im, tmp_path / "a.jpg", exif=exif, quality=95))
    rows, cols = np.nonzero(out > 128)
    assert np.ptp(rows) > 3 * np.ptp(cols)  # shown upright: a vertical bar


def test_arrays_and_pil_images():
    ring = _ring(ink=0, paper=255)
    _assert_training_style(to_training_style(np.asarray(ring)))  # (H, W) uint8
    _assert_training_style(to_training_style(np.asarray(ring.convert("RGB")) / 255.0))  # (H, W, 3) float
    _assert_training_style(to_training_style(np.asarray(ring.convert("RGBA"))))  # (H, W, 4)
    _assert_training_style(to_training_style(ring))


# ----------------------------------------------------------------------------- sketchpad / editor values

def _strokes() -> np.ndarray:
    layer = Image.new("RGBA", (280, 280), (0, 0, 0, 0))
    ImageDraw.Draw(layer).line((140, 40, 140, 240), fill=(0, 0, 0, 255), width=24)  # a "1"
    return np.asarray(layer)


def test_sketchpad_composite_flattened_on_white():
    composite = Image.new("RGBA", (280, 280), (255, 255, 255, 255))
    composite.alpha_composite(Image.fromarray(_strokes()))
    value = {"background": None, "layers": [_strokes()], "composite": np.asarray(composite)}
    _assert_training_style(to_training_style(value))


def test_sketchpad_transparent_composite():
    _assert_training_style(to_training_style({"background": None, "layers": [], "composite": _strokes()}))


def test_editor_without_composite_uses_background_and_layers():
    white = np.full((280, 280, 4), 255, dtype=np.uint8)
    _assert_training_style(to_training_style({"background": white, "layers": [_strokes()], "composite": None}))


def test_empty_drawing_is_blank():
    with pytest.raises(BlankImageError):
        to_training_style({"background": None, "layers": [], "composite": None})
    with pytest.raises(BlankImageError, match="blank"):
        to_training_style({"composite": np.full((280, 280, 4), 255, dtype=np.uint8)})


# ----------------------------------------------------------------------------- bad files

def _png_claiming(tmp_path, width: int, height: int):
    """A real small PNG whose IHDR (and its CRC) is patched to claim width × height."""
    path = _save(Image.new("L", (8, 8), 0), tmp_path / "huge.png")
    data = bytearray(path.read_bytes())
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize("size", [(20000, 20000), (5000, 5000)])
def test_header_claiming_huge_size_is_refused_before_decoding(tmp_path, size):
    with pytest.raises(UploadError, match="PNG or JPEG"):
        to_training_style(_png_claiming(tmp_path, *size))


def test_truncated_png(tmp_path):
    path = _save(Image.fromarray(np.random.default_rng(0).integers(0, 255, (200, 200), dtype=np.uint8)),
                 tmp_path / "a.png")
    path.write_bytes(path.read_bytes()[:2000])
    with pytest.raises(UploadError, match="damaged or incomplete"):
        to_training_style(path)


def test_text_named_png(tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("this is not a picture\n")
    with pytest.raises(UploadError, match="not an image"):
        to_training_style(path)


def test_file_over_the_byte_limit(tmp_path):
    path = tmp_path / "big.png"
    path.write_bytes(b"\0" * (MAX_BYTES + 1))
    with pytest.raises(UploadError, match="10 MB"):
        to_training_style(path)


def test_other_formats_are_refused(tmp_path):
    path = _save(_ring(), tmp_path / "a.tiff")
    with pytest.raises(UploadError, match="PNG or JPEG"):
        to_training_style(path)


def test_missing_file_blank_image_and_bad_arrays(tmp_path):
    with pytest.raises(UploadError):
        to_training_style(tmp_path / "nothing-here.png")
    with pytest.raises(BlankImageError):
        to_training_style(np.full((50, 50), 200, dtype=np.uint8))
    with pytest.raises(UploadError):
        to_training_style(np.zeros((5, 5, 7)))
    with pytest.raises(UploadError, match="NaN"):
        to_training_style(np.full((5, 5), np.nan))
    with pytest.raises(UploadError):
        to_training_style(None)
    assert issubclass(UploadError, ValueError)


# ----------------------------------------------------------------------------- drawing bounds (headers only)

def test_a_drawing_with_too_many_layers_is_refused(tmp_path):
    layer = _save(Image.new("RGBA", (280, 280)), tmp_path / "layer.png")
    check_drawing(None, [layer] * 4, layer)
    with pytest.raises(UploadError, match="5 layers; at most 4"):
        check_drawing(None, [layer] * 5, None)


@pytest.mark.parametrize("size", [(5000, 5000), (20000, 20000)])
def test_a_drawing_part_that_claims_too_many_pixels_is_refused_from_its_header(tmp_path, size):
    with pytest.raises(UploadError, match="too large"):
        check_drawing(None, [], _png_claiming(tmp_path, *size).read_bytes())  # bytes, as an editor's blob


def test_a_drawing_part_that_is_not_a_picture_is_refused(tmp_path):
    with pytest.raises(UploadError, match="not a picture"):
        check_drawing(b"not a picture", [], None)
