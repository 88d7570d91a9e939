"""Room above a demo picture for the caption the app lays over its top edge.

Owns: ``headroom``: a white band on top of a picture, as tall as a share of its width, so the image
widget's caption (drawn over the picture's top-left corner) and buttons (top-right) cover the band,
not the first row of pictures, however wide the screen shows it (a phone shrinks a wide picture, so
the band is sized by the width).
Does not know: the UI toolkit, models.
"""

from __future__ import annotations

import numpy as np

SHARE = 0.09  # of the picture's width: ~30 screen px when a 700 px picture is shown 330 px wide on a phone
MINIMUM = 30  # px


def headroom(picture: np.ndarray) -> np.ndarray:
    """uint8 (H, W) or (H, W, 3) → the same with a white band of max(MINIMUM, SHARE·W) rows on top."""
    rows = max(MINIMUM, round(SHARE * picture.shape[1]))
    band = np.full((rows, *picture.shape[1:]), 255, dtype=np.uint8)
    return np.concatenate([band, picture])
