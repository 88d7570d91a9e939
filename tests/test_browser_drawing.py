"""Drawing in Chromium. Finish my drawing (the Remove-noise tab): strokes drawn on the pad with the mouse, a class
and k chosen, the run finishes the drawing (new pictures, the verdict with the judge's words); a link with the
section's settings restores them and makes that picture, and never presses the tab's own Generate; on a phone the
picture is in view when Finish it is pressed. The Add-noise tab's pad opens ready to draw: a drag draws, and the
drawing is noised (screenshots of the pad after the drag, desktop and phone, in artifacts/screenshots/)."""

from __future__ import annotations

import re

import pytest

from browser_pages import (
    IN_VIEW,
    NEEDS_CHROMIUM,
    SCREENSHOTS,
    TIMEOUT_MS,
    VIEWPORTS,
    _settle,
    _tab_bar,
    browser,  # noqa: F401 (a fixture, found by name)
)
from explorer.ui import add_noise_tab, remove_noise_tab
from explorer.ui import finish_drawing_section as section

pytestmark = NEEDS_CHROMIUM

SECTION = f"#{section.SECTION_ID}"
VERDICT = f"#{section.VERDICT_ID}"
SOURCE = "(selector) => document.querySelector(selector + ' img')?.src ?? null"
K_INPUT = "number input for " + section.K_LABEL
STROKES = [(-0.12, -0.3, -0.12, 0.3), (0.12, -0.3, 0.12, 0.3), (-0.12, -0.3, 0.12, -0.3)]  # two legs and a waist


def _open(browser, url: str, viewport: str):  # noqa: F811
    width, height = VIEWPORTS[viewport]
    page = browser.new_page(viewport={"width": width, "height": height})
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(url)
    _tab_bar(page).get_by_role("tab").first.wait_for()
    _settle(page)
    return page


def _opened(page) -> dict:
    """Wait for the section's opening (its strip shows a picture); the sources of its pictures."""
    page.locator(f"#{section.STRIP_ID} img").wait_for(state="attached")
    return {key: page.evaluate(SOURCE, f"#{key}") for key in (section.PAIR_ID, section.STRIP_ID)}


def _verdict(page, *parts: str) -> str:
    """The verdict once it says all of ``parts`` (a finished run's own words)."""
    verdict = page.locator(VERDICT)
    for part in parts:
        verdict = verdict.filter(has_text=part)
    verdict.wait_for()
    return verdict.inner_text()


def _is_drawing(request) -> bool:
    """The pad's change event (its drawing and the dataset) on its way to the server."""
    body = request.post_data or ""
    return "/run/predict" in request.url and '"data":[{' in body and '"fashion"]' in body


def _draw(page, pad, strokes) -> None:
    """Draw ``strokes`` ((x0, y0, x1, y1) as fractions of the canvas from its middle) with the mouse."""
    box = pad.locator("canvas").first.bounding_box()
    middle_x, middle_y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    for x0, y0, x1, y1 in strokes:
        page.mouse.move(middle_x + x0 * box["width"], middle_y + y0 * box["height"])
        page.mouse.down()
        for i in range(1, 9):
            page.mouse.move(middle_x + (x0 + (x1 - x0) * i / 8) * box["width"],
                            middle_y + (y0 + (y1 - y0) * i / 8) * box["height"])
        page.mouse.up()


def test_a_drawing_is_finished_as_the_class_chosen(browser, running_app):  # noqa: F811
    page = _open(browser, running_app + "?tab=remove-noise", "desktop")
    before = _opened(page)
    area = page.locator(SECTION)
    area.get_by_role("tab", name="Draw", exact=True).click()
    brush = area.get_by_role("button", name="Brush", exact=True)
    page.wait_for_function("(b) => b.classList.contains('highlight')", arg=brush.element_handle())  # ready to draw
    with page.expect_response(lambda response: _is_drawing(response.request)) as sent:
        _draw(page, area, STROKES)
    assert sent.value.ok  # the drawing reached the server
    chooser = area.get_by_label(section.CLASS_LABEL)
    chooser.fill("Trouser")
    chooser.press("Enter")
    k = area.get_by_label(K_INPUT, exact=True)
    k.fill("300")
    k.press("Enter")
    area.get_by_role("button", name=section.RUN, exact=True).click()

    verdict = _verdict(page, "From k = 300", "told: Trouser", "likeness to your picture")
    likeness = float(re.search(r"likeness to your picture ([\d.]+)", verdict).group(1))
    assert 0 <= likeness <= 1 and "the judge sees" in verdict
    after = {key: page.evaluate(SOURCE, f"#{key}") for key in before}
    assert all(after[key] and after[key] != before[key] for key in before), (before, after)  # new pictures
    page.wait_for_function("(s) => document.querySelector(s + ' img')?.naturalWidth > 0", arg=f"#{section.PAIR_ID}")
    page.close()


def test_a_link_restores_the_settings_and_a_run_on_a_phone_shows_its_picture(browser, running_app):  # noqa: F811
    link = "?tab=remove-noise&finish_picture=3&finish_class=Sneaker&finish_k=300&finish_seed=5"
    page = _open(browser, running_app + link, "phone")
    verdict = _verdict(page, "From k = 300", "told: Sneaker", "seed 5")  # the linked run, pressed by the page
    assert "real picture #3" in verdict
    main = page.locator(f"#{remove_noise_tab.RESULTS_ID}")  # the tab's own run: its opening, not pressed by the link
    assert main.get_by_text("Done:").count() == 0 and main.get_by_text("Press ▶ Play.").count() == 1
    area = page.locator(SECTION)
    assert area.get_by_label(K_INPUT, exact=True).input_value() == "300"
    assert area.get_by_label(section.SEED_LABEL, exact=True).input_value() == "5"
    assert area.get_by_label(section.CLASS_LABEL).input_value() == "Sneaker"
    for part in ("finish_picture=3", "finish_class=Sneaker", "finish_k=300", "finish_seed=5"):
        assert part in page.url

    button = area.get_by_role("button", name=section.RUN, exact=True)
    button.evaluate("b => b.scrollIntoView({block: 'end'})")  # scrolled down to it: at the foot of the screen
    picture = f"#{section.PICTURE_ID}"
    assert not page.evaluate(IN_VIEW, picture), "the picture is below the button on a phone"
    button.click()
    page.wait_for_function(IN_VIEW, arg=picture)
    assert "Answered from the cache" in _verdict(page, "From k = 300", "Answered from the cache")  # its own run
    page.close()


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_the_add_noise_pad_opens_ready_to_draw_and_a_drag_draws(browser, running_app, viewport):  # noqa: F811
    page = _open(browser, running_app + "?tab=add-noise", viewport)
    x_t = f"#{add_noise_tab.RESULTS_ID}"
    before = page.evaluate(SOURCE, x_t)  # the first picture of the results: the picture after k steps
    page.get_by_role("tab", name="Draw", exact=True).filter(visible=True).first.click()
    pad = page.locator(f"#{add_noise_tab.DRAWING_ID}")
    brush = pad.get_by_role("button", name="Brush", exact=True)
    page.wait_for_function("(b) => b.classList.contains('highlight')", arg=brush.element_handle())  # ready to draw
    assert pad.get_by_text("select the draw tool").count() == 0
    pad.scroll_into_view_if_needed()
    _draw(page, pad, STROKES)
    page.wait_for_function("([s, old]) => { const src = document.querySelector(s + ' img')?.src;"
                           " return src && src !== old; }", arg=[x_t, before])  # the drawing, noised
    _settle(page)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    pad.screenshot(path=SCREENSHOTS / f"{viewport}-add-noise-pad-after-drag.png")
    inked = pad.locator("canvas").first.evaluate(
        "c => { const d = c.getContext('2d')?.getImageData(0, 0, c.width, c.height).data; if (!d) return null;"
        " let n = 0; for (let i = 0; i < d.length; i += 4) if (d[i + 3] > 0 && d[i] < 80) n++; return n; }")
    assert inked is None or inked > 0  # a 2-D canvas shows the black strokes (a WebGL one is read on the server)
    page.close()
