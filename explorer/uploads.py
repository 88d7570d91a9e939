"""Any picture a user gives → a 28×28 uint8 grey image that looks like the training data.

Owns: safe decoding of uploaded files, given as a path or as the file's bytes (format allow-list; byte and
pixel caps checked before any pixel is decoded; EXIF orientation; first frame of an animation; every Pillow
mode → 8-bit grey), reading the plain-dict value of a Sketchpad / ImageEditor (``composite``, ``layers``,
``background``), the bounds of a drawing checked from its files' headers before any is decoded
(``check_drawing``: number of layers, bytes and declared pixels of each part), and the MNIST-style framing: a
bright object on black (light backgrounds are inverted), cropped, scaled into a box (20 px for digits, 28 px
for clothes) and centred by its centre of mass in 28×28.
Does not know: models, dataset files, the UI (no gradio import: an editor value is just a dict).
Bad input raises ``UploadError`` (a ValueError) with a short message that says what to do.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

MAX_BYTES = 10 * 1024 * 1024  # 10 MB, the same as the app's upload limit
MAX_PIXELS = 4096 * 4096
FORMATS = ("PNG", "JPEG", "GIF", "BMP", "WEBP")
EXTENSIONS = (".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp")  # the usual file names of FORMATS, for pickers
WORK_SIZE = 512  # larger pictures are reduced to this before analysis: plenty for a 28 px result
FRAME = 28
FIT_BOX = {"mnist": 20, "fashion": 28}  # longest side of the object in each dataset's 28×28 frame
MIN_CONTRAST = 0.08  # object vs background, on a 0…1 scale; below it the picture counts as blank
INK_FLOOR = 0.2  # share of the contrast treated as background texture and set to black
WIDE_MODES = ("I", "I;16", "I;16B", "I;16L", "I;16N", "F")  # more than 8 bits per pixel
MAX_DRAWING_LAYERS = 4  # the app's sketchpad sends one; an editor with layers a few
MAX_DRAWING_PIXELS = 1024 * 1024  # per part of a drawing (the canvas is 280×280): 4 MB decoded as RGBA

ASK = "Please upload a PNG or JPEG image (GIF, BMP and WEBP work too), at most 10 MB and 4096×4096 pixels."


class UploadError(ValueError):
    """The picture cannot be used; the message tells the user what to do instead."""


class BlankImageError(UploadError):
    """The picture is empty or one flat colour: there is no object to show."""


def to_training_style(source, box: int = 20) -> np.ndarray:
    """A file path, file bytes, PIL image, array (H, W) / (H, W, 3|4) or editor dict → uint8 (28, 28).

    The object comes out bright on a black background, its longest side ``box`` pixels, centred
    by its centre of mass, as in the MNIST preprocessing.
    """
    if not 1 <= int(box) <= FRAME:
        raise ValueError(f"box must be between 1 and {FRAME} pixels; got {box}.")
    grey, alpha = _grey_and_alpha(_as_image(source))  # float32 (h, w) in [0, 1] each
    ink = _bright_on_black(grey, alpha)  # float32 (h, w) in [0, 1], background 0
    return _frame(ink, int(box))  # uint8 (28, 28)


# ----------------------------------------------------------------------------- reading

def _as_image(source) -> Image.Image:
    """Any accepted source → a decoded PIL image (any mode), size checked."""
    if source is None:
        raise UploadError("No picture was given. " + ASK)
    if isinstance(source, dict):
        return _editor_image(source)
    if isinstance(source, Image.Image):
        _check_pixels(source.size)
        return source
    if isinstance(source, np.ndarray):
        return _array_image(source)
    if isinstance(source, (str, os.PathLike)):
        return _open_file(Path(source))
    if isinstance(source, (bytes, bytearray)):
        return _decode(io.BytesIO(source), len(source))
    raise UploadError(f"Cannot read a picture from a {type(source).__name__}. " + ASK)


def _check_pixels(size: tuple[int, int]) -> None:
    width, height = size
    if width < 1 or height < 1:
        raise UploadError("The picture has no pixels. " + ASK)
    if width * height > MAX_PIXELS:
        raise UploadError(f"The picture is {width}×{height} pixels, too large to read safely. " + ASK)


def _open_file(path: Path) -> Image.Image:
    """Decode the file at ``path`` safely (see ``_decode``)."""
    try:
        n_bytes = path.stat().st_size
    except OSError:
        raise UploadError("The uploaded file could not be found or read. " + ASK) from None
    return _decode(path, n_bytes)


def _decode(file: Path | io.BytesIO, n_bytes: int) -> Image.Image:
    """Decode ``file`` of ``n_bytes`` safely: byte cap, allow-listed formats, pixel cap from the header, frame 0."""
    if n_bytes > MAX_BYTES:
        raise UploadError(f"The file is {n_bytes / 1e6:.1f} MB, over the 10 MB limit. " + ASK)
    try:
        with Image.open(file, formats=FORMATS) as im:  # reads the header only
            _check_pixels(im.size)
            im.seek(0)
            im.load()
            return ImageOps.exif_transpose(im)  # a decoded copy, upright
    except UploadError:
        raise
    except Image.DecompressionBombError:
        raise UploadError("The picture claims to be enormous, too large to read safely. " + ASK) from None
    except UnidentifiedImageError:
        raise UploadError("This file is not an image this app can read. " + ASK) from None
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError):
        raise UploadError("The image file is damaged or incomplete. " + ASK) from None


def _array_image(array: np.ndarray) -> Image.Image:
    """uint8/bool/int/float (H, W), (H, W, 1), (H, W, 3) or (H, W, 4) → PIL image."""
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if not (array.ndim == 2 or (array.ndim == 3 and array.shape[2] in (3, 4))):
        raise UploadError(f"An image array must be (H, W), (H, W, 3) or (H, W, 4); got {array.shape}.")
    _check_pixels((array.shape[1], array.shape[0]))
    if array.dtype.kind not in "biuf":
        raise UploadError(f"An image array must hold numbers, not {array.dtype}.")
    if array.dtype != np.uint8:
        array = _array_to_uint8(array)
    return Image.fromarray(np.ascontiguousarray(array))


def _array_to_uint8(array: np.ndarray) -> np.ndarray:
    """Numbers → uint8: values in [0, 1] are scaled by 255, [0, 255] kept, wider ranges stretched."""
    values = array.astype(np.float32)
    if not np.isfinite(values).all():
        raise UploadError("The image array contains NaN or infinite values.")
    if values.min() >= 0 and values.max() <= 1:
        values = values * 255
    elif values.min() < 0 or values.max() > 255:
        values = _stretch(values) * 255
    return values.round().astype(np.uint8)


def _editor_image(value: dict) -> Image.Image:
    """Sketchpad / ImageEditor value → one RGBA picture: its composite, else background + layers."""
    if value.get("composite") is not None:
        return _as_image(value["composite"])
    parts = [value.get("background"), *(value.get("layers") or [])]
    pictures = [_as_image(p).convert("RGBA") for p in parts if p is not None]
    if not pictures:
        raise BlankImageError("The drawing is empty: draw something first.")
    canvas = Image.new("RGBA", pictures[0].size, (0, 0, 0, 0))
    for picture in pictures:
        canvas.alpha_composite(picture if picture.size == canvas.size else picture.resize(canvas.size))
    return canvas


def check_drawing(background, layers, composite) -> None:
    """Refuse a drawing before any of its parts is decoded: too many layers, or a part too large.

    Each part is a file path, the file's bytes or None. Only its byte length and its header's
    declared size are read, so a tiny file that claims 5000×5000 pixels costs nothing.
    """
    layers = list(layers or [])
    if len(layers) > MAX_DRAWING_LAYERS:
        raise UploadError(f"The drawing has {len(layers)} layers; at most {MAX_DRAWING_LAYERS} can be read. "
                          "Merge or delete some layers and try again.")
    for part in [background, *layers, composite]:
        if part is not None:
            _check_drawing_part(part)


def _check_drawing_part(part) -> None:
    if isinstance(part, (bytes, bytearray, memoryview)):
        n_bytes, file = len(part), io.BytesIO(part)
    else:
        try:
            n_bytes, file = Path(part).stat().st_size, Path(part)
        except (OSError, TypeError, ValueError):
            raise UploadError("A layer of the drawing could not be read. Please draw again.") from None
    if n_bytes > MAX_BYTES:
        raise UploadError(f"A layer of the drawing is {n_bytes / 1e6:.1f} MB, over the 10 MB limit.")
    try:
        with Image.open(file, formats=FORMATS) as im:  # reads the header only
            width, height = im.size
    except Image.DecompressionBombError:
        width, height = MAX_DRAWING_PIXELS + 1, 1  # it claims more pixels than Pillow will open
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError):
        raise UploadError("A layer of the drawing is not a picture this app can read. Please draw again.") from None
    if width * height > MAX_DRAWING_PIXELS:
        raise UploadError(f"A layer of the drawing is too large: at most {MAX_DRAWING_PIXELS:,} pixels a layer "
                          "can be read. Please draw on the app's own canvas.")


# ----------------------------------------------------------------------------- grey levels

def _stretch(values: np.ndarray) -> np.ndarray:
    """Any real array → [0, 1] by its own minimum and maximum (a flat array → zeros)."""
    low, high = float(values.min()), float(values.max())
    return (values - low) / (high - low) if high > low else np.zeros_like(values)


def _has_alpha(im: Image.Image) -> bool:
    return im.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in im.info


def _grey_and_alpha(im: Image.Image) -> tuple[np.ndarray, np.ndarray | None]:
    """Any mode → grey float32 (h, w) in [0, 1] and opacity (h, w) in [0, 1] or None; h, w ≤ 512."""
    if im.mode in WIDE_MODES:  # 16-bit, 32-bit and float pictures: stretch to 8 bits
        values = np.nan_to_num(np.asarray(im, dtype=np.float32))
        im = Image.fromarray((_stretch(values) * 255).round().astype(np.uint8))
    elif _has_alpha(im):
        im = im.convert("RGBA").convert("LA")
    else:
        im = im.convert("RGB").convert("L") if im.mode not in ("L", "1") else im.convert("L")
    if max(im.size) > WORK_SIZE:
        im = im.copy()
        im.thumbnail((WORK_SIZE, WORK_SIZE), Image.Resampling.BOX)
    pixels = np.asarray(im, dtype=np.float32) / 255.0  # (h, w) or (h, w, 2)
    if pixels.ndim == 3:
        return pixels[:, :, 0], pixels[:, :, 1]
    return pixels, None


def _bright_on_black(grey: np.ndarray, alpha: np.ndarray | None) -> np.ndarray:
    """grey, alpha (h, w) → ink (h, w) in [0, 1]: the object bright, the background exactly 0."""
    if alpha is not None:
        if alpha.max() < MIN_CONTRAST:
            raise BlankImageError("The picture is fully transparent: draw or upload something visible.")
        content = float((grey * alpha).sum() / alpha.sum())  # mean brightness of what is visible
        backdrop = 1.0 if content < 0.5 else 0.0  # put dark drawings on white, light ones on black
        grey = alpha * grey + (1 - alpha) * backdrop
    background = float(np.median(_border(grey)))
    if background > 0.5:  # light background (a photo, black ink on white paper): invert
        grey, background = 1.0 - grey, 1.0 - background
    peak = float(grey.max())
    if peak - background < MIN_CONTRAST:
        raise BlankImageError("The picture is blank (one flat colour): draw or upload something with a visible shape.")
    floor = background + INK_FLOOR * (peak - background)
    return np.clip((grey - floor) / (peak - floor), 0.0, 1.0).astype(np.float32)


def _border(image: np.ndarray) -> np.ndarray:
    """The pixels of the outer ring (≈ 5 % of the size, at least 1 px) of a (h, w) image."""
    h, w = image.shape
    ring = max(1, min(h, w) // 20)
    mask = np.ones((h, w), dtype=bool)
    mask[ring:h - ring, ring:w - ring] = False
    return image[mask]


# ----------------------------------------------------------------------------- framing

def _frame(ink: np.ndarray, box: int) -> np.ndarray:
    """ink (h, w) → uint8 (28, 28): crop to the object, fit in box × box, centre of mass at 14, 14."""
    rows, cols = np.nonzero(ink > 0)
    crop = ink[rows.min():rows.max() + 1, cols.min():cols.max() + 1]  # (ch, cw)
    scale = box / max(crop.shape)
    size = (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale)))  # (w, h)
    resample = Image.Resampling.BOX if scale < 1 else Image.Resampling.BILINEAR
    small = np.asarray(Image.fromarray(crop).resize(size, resample), dtype=np.float32)
    small = np.clip(small / max(float(small.max()), 1e-6), 0.0, 1.0)  # thin strokes stay bright
    top = _offset(small.sum(axis=1), small.sum())
    left = _offset(small.sum(axis=0), small.sum())
    out = np.zeros((FRAME, FRAME), dtype=np.float32)
    out[top:top + small.shape[0], left:left + small.shape[1]] = small
    return (out * 255).round().astype(np.uint8)


def _offset(profile: np.ndarray, total: float) -> int:
    """Where to paste a run of len(profile) pixels so its centre of mass lands on the frame centre."""
    centre = float(profile @ (np.arange(profile.shape[0]) + 0.5)) / total
    return int(np.clip(round(FRAME / 2 - centre), 0, FRAME - profile.shape[0]))
