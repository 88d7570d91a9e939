"""Labels drawn into pictures (explorer.plots): large enough to read where a phone shrinks the picture to its
screen, wrapped under their tiles, never a character the picture font lacks (it would draw as a box)."""

from __future__ import annotations

import numpy as np
import pytest

from explorer import plots


def _tiles(*shape: int) -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (*shape, 28, 28), dtype=np.uint8)


def test_characters_the_font_lacks_get_plain_stand_ins():
    assert plots.drawable("guess − real static, × 3 — ok") == "guess - real static, x 3 - ok"
    assert plots.drawable("k = 200: 0.87 (T-shirt/top) 5 %") == "k = 200: 0.87 (T-shirt/top) 5 %"
    assert plots.drawable("ᾱ") == "?"  # nothing to stand in for it: a question mark, never a box


@pytest.mark.parametrize("tiles, size, labels", [
    (8, 84, [f"k={round(k)}" for k in np.linspace(0, 1000, 8)]),  # the Add-noise strip over k
    (3, 168, ["the picture", "noised to k = 500", "finished"]),
    (4, 84, ["seed 0", "seed 1", "seed 2", "seed 3"]),
    (2, 252, ["one jump (1 network call)", "16 small steps"]),
])
def test_a_strips_labels_are_readable_on_a_phone(tiles, size, labels):
    picture = plots.strip(_tiles(tiles), labels=labels, size=size)
    font = plots._label_font_size(labels, size, picture.shape[1])
    assert plots.shown_label_size(font, picture.shape[1]) >= plots.SHOWN_LABEL
    assert picture.shape[0] > size  # the band under the tiles


def test_a_long_label_wraps_under_its_tile_instead_of_running_into_its_neighbour():
    font = plots._font(20)
    lines = plots._wrap("clean picture from its guess", font, 84)
    assert len(lines) > 1 and all(font.getlength(line) <= 84 for line in lines)
    assert plots._wrap("k=1000", plots._font(26), 84) == ["k=", "1000"]
    assert plots._wrap("untrained\noff by 0.87", font, 200) == ["untrained", "off by 0.87"]


def test_a_grid_with_headings_is_as_wide_as_its_tiles_and_its_labels_readable():
    columns = ["untrained\noff by 0.87", "after 5 %\noff by 0.76", "after 10 %\noff by 0.47",
               "after 100 %\noff by 0.31"]
    rows = ["Its guess of the static", "Its guess - the real static (grey = no mistake)",
            "The clean picture worked out from its guess", "Its own picture from pure static"]
    picture = plots.labelled_grid(_tiles(4, 4), columns, rows, size=112, headings=True)
    assert picture.shape[1] == 4 * 112 + 3 * 4
    font = plots._label_font_size(columns, 112, picture.shape[1])
    assert plots.shown_label_size(font, picture.shape[1]) >= plots.SHOWN_LABEL


def test_a_grid_with_row_labels_on_the_left_sizes_them_for_its_whole_width():
    columns = ["step 1", "step 4", "step 7", "step 11", "final"]
    picture = plots.labelled_grid(_tiles(3, 5), columns, ["told: Sneaker", "told: Bag", "told: both"], size=84)
    font = plots._label_font_size(columns, 84, picture.shape[1])
    assert picture.shape[1] > 5 * 84 + 4 * 4  # the row labels' column
    assert plots.shown_label_size(font, picture.shape[1]) >= plots.SHOWN_LABEL


def test_labels_and_images_must_match():
    with pytest.raises(ValueError, match="2 labels"):
        plots.strip(_tiles(3), labels=["a", "b"])
    with pytest.raises(ValueError, match="labelled_grid"):
        plots.labelled_grid(_tiles(2, 3), ["a", "b"], ["r1", "r2"])
