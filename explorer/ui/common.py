"""UI bits every tab shares: the header, the dataset radio, error messages, image widgets.

Owns: the app's two-line header, the Fashion/Digits radio (values "fashion"/"mnist"), turning a
bad value (ValueError, UploadError) into a ``gr.Error`` with the same message, the display size
of images and the CSS that keeps upscaled 28×28 pixels crisp.
Does not know: any maths; demos compute, tabs wire widgets to them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import gradio as gr
import numpy as np

from explorer import plots

HEADER = (
    "# Diffusion explorer\n"
    "See how generative image models work on tiny 28×28 pictures of clothes and digits: "
    "noise is added step by step, and a trained network learns to take it away again."
)
DATASET_CHOICES = [("Fashion", "fashion"), ("Digits", "mnist")]
DEFAULT_DATASET = "fashion"
DISPLAY_SIZE = 280  # px of a large 28×28 image: 10 screen pixels per image pixel
CRISP = "crisp"  # elem_classes of images the browser must not blur
CSS = f".{CRISP} img {{ image-rendering: pixelated; }}"


def header() -> gr.Markdown:
    return gr.Markdown(HEADER)


def dataset_radio() -> gr.Radio:
    """The dataset switch shared by all tabs; its value is a dataset key ("fashion" / "mnist")."""
    return gr.Radio(DATASET_CHOICES, value=DEFAULT_DATASET, label="Pictures of", interactive=True)


@contextmanager
def user_errors() -> Iterator[None]:
    """Inside this block a ValueError (UploadError included) reaches the user as a gr.Error."""
    try:
        yield
    except ValueError as error:
        raise gr.Error(str(error), print_exception=False) from None


def big(image: np.ndarray) -> np.ndarray:
    """uint8 (28, 28) → uint8 (280, 280), nearest neighbour: crisp on a projector."""
    return plots.upscale(image, DISPLAY_SIZE)


def image_output(label: str, **kwargs) -> gr.Image:
    """A read-only image shown as lossless PNG with crisp pixels (webp would blur the blocks)."""
    return gr.Image(label=label, format="png", interactive=False, elem_classes=[CRISP],
                    buttons=["download", "fullscreen"], **kwargs)
