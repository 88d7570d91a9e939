"""The app in a real browser (Debian's Chromium, headless), at a desktop and a phone-sized viewport.

Every top-level tab is on screen (none folded into a menu) and opens; nothing scrolls sideways and
every chart's title lies inside its chart, clear of the plot and the legend; picking a picture, making
a guidance grid and a comparison bring their results into view (on a phone they sit below the
controls). A generation in "Remove noise" streams its steps and ends with the picture and the judge's
chart; there Generate, New static and an example each bring the outputs into view on a phone (and
leave them in view beside the controls on a desktop). An upload in "Add noise" refuses too large a
file, answers a broken one with our message and a good one with its 28×28 preview.
Screenshots go to artifacts/screenshots/ (test artifacts, not in git). Never downloads a browser.
"""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from app import TABS
from explorer.uploads import MAX_BYTES

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(),
                                reason="Debian's Chromium (/usr/bin/chromium) is not installed: apt-get install chromium")

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
VIEWPORTS = {"desktop": (1280, 800), "phone": (390, 844)}
SCREENSHOTS = Path(__file__).resolve().parent.parent / "artifacts" / "screenshots"
TIMEOUT_MS = 120_000  # the machine may be busy: generous, never a speed claim
SETTLED = """() => Array.from(document.images)
    .filter(i => i.loading !== 'lazy' && i.offsetParent !== null).every(i => i.complete)
    && !document.body.innerText.includes('Loading...') && !document.querySelector('.pending')"""
ALL_IMAGES_LOADED = """() => { document.querySelectorAll('img[loading=lazy]').forEach(i => i.loading = 'eager');
    return Array.from(document.images).filter(i => i.offsetParent !== null).every(i => i.complete); }"""
SIDEWAYS = """() => [document.scrollingElement, ...document.querySelectorAll('.grid-wrap, .grid-container')]
    .filter(e => e === document.scrollingElement || e.offsetParent !== null)
    .filter(e => e.scrollWidth > e.clientWidth + 1).map(e => e.className || 'the page')"""
BAD_TITLES = """() => { const boxes = (plot, selector) => Array.from(plot.querySelectorAll(selector))
        .map(e => e.getBoundingClientRect()).filter(r => r.width > 0);
    const meet = (a, b) => a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
    return Array.from(document.querySelectorAll('.js-plotly-plot')).filter(p => p.offsetParent !== null)
        .flatMap(plot => { const figure = plot.getBoundingClientRect();
            const others = [...boxes(plot, '.nsewdrag'), ...boxes(plot, '.legend')];
            return Array.from(plot.querySelectorAll('.gtitle')).filter(title => {
                const r = title.getBoundingClientRect();
                return r.left < figure.left - 1 || r.right > figure.right + 1 || r.top < figure.top - 1
                    || others.some(o => meet(r, o)); }).map(title => title.textContent); }); }"""
IN_VIEW = """(selector) => { const r = document.querySelector(selector).getBoundingClientRect();
    return r.bottom > 0 && r.top < window.innerHeight; }"""
GENERATE_RESULTS = "#generate-results"  # the Remove-noise tab's column of outputs
RECORD_STEPS = """() => { window.stepsSeen = new Set(); new MutationObserver(() => {
    for (const m of document.body.innerText.matchAll(/Step \\d+ of \\d+/g)) window.stepsSeen.add(m[0]); })
    .observe(document.body, {subtree: true, childList: true, characterData: true}); }"""


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(params=list(VIEWPORTS))
def app_page(request, browser, running_app):
    """The app loaded in a fresh page of the viewport named by the parameter; yields (name, page)."""
    width, height = VIEWPORTS[request.param]
    page = browser.new_page(viewport={"width": width, "height": height})
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(running_app)
    _tab_bar(page).get_by_role("tab").first.wait_for()
    _settle(page)
    yield request.param, page
    page.close()


def test_every_tab_is_on_screen_fits_and_brings_its_results_into_view(app_page):
    name, page = app_page
    tabs = _tab_bar(page).get_by_role("tab")
    assert tabs.all_text_contents() == [title for title, _ in TABS]
    assert all(tab.is_visible() for tab in tabs.all())  # none folded into a "More tabs" menu
    for i, (title, _) in enumerate(TABS):
        _open_tab(page, title)
        _assert_fits(page)
        _screenshot(page, f"{name}-{i}-{_slug(title)}")
    _open_tab(page, "Add noise")
    _pick_a_picture(page, desktop=name == "desktop")
    _open_tab(page, "Guidance")
    _run_and_see(page, "Make the grid", "What was drawn", "guidance-grid")
    _screenshot(page, f"{name}-guidance-grid")
    _open_tab(page, "Compare")
    _run_and_see(page, "Make them", "what each picture cost", "compare-results")
    _screenshot(page, f"{name}-compared")


def test_a_generation_streams_and_uploads_are_checked(app_page, tmp_path):
    name, page = app_page
    _open_tab(page, "Remove noise")
    _generate(page, phone=name == "phone")
    _screenshot(page, f"{name}-generated")
    _new_static_and_an_example(page, phone=name == "phone")
    _open_tab(page, "Add noise")
    _upload(page, tmp_path)
    _screenshot(page, f"{name}-uploaded")


# ----------------------------------------------------------------------------- steps

def _assert_fits(page) -> None:
    """Nothing scrolls sideways, and every visible chart's title is inside it, clear of its plot and legend."""
    assert page.evaluate(SIDEWAYS) == []
    assert page.evaluate(BAD_TITLES) == []


def _pick_a_picture(page, desktop: bool) -> None:
    """Click the second gallery picture: its results are then on screen (a desktop keeps the gallery in view)."""
    gallery = page.locator(".grid-container").first
    gallery.locator("button").nth(1).click()
    page.get_by_text(re.compile(r"real picture #1 ")).wait_for()
    page.wait_for_function(IN_VIEW, arg="#noise-results")
    if desktop:
        assert gallery.is_visible() and page.evaluate(IN_VIEW, ".grid-container")
    _settle(page)


def _run_and_see(page, button: str, done_text: str, result_id: str) -> None:
    """Press ``button``; when ``done_text`` shows, the result ``result_id`` is on screen and everything fits."""
    panel = _panel(page, page.get_by_role("button", name=button, exact=True))
    panel.get_by_role("button", name=button, exact=True).click()
    panel.get_by_text(done_text).first.wait_for()
    page.wait_for_function(IN_VIEW, arg=f"#{result_id}")
    _settle(page)
    _assert_fits(page)


def _generate(page, phone: bool) -> None:
    """A fresh seed (so no cache answers), Generate: the outputs come into view, the steps stream, then the
    picture and the chart."""
    panel = _panel(page, page.get_by_role("button", name="Generate", exact=True))
    panel.get_by_label(re.compile("^Seed")).fill(str(random.randint(10**6, 10**7)))
    page.evaluate(RECORD_STEPS)
    _press_and_see_the_outputs(page, panel.get_by_role("button", name="Generate", exact=True), phone)
    panel.get_by_text(re.compile(r"Done: \d+ steps")).wait_for()
    assert len(page.evaluate("() => Array.from(window.stepsSeen)")) >= 2  # streamed, not just the end
    panel.locator(".js-plotly-plot").first.wait_for()
    assert panel.get_by_role("img").count() >= 4  # x_t, x̂0, the noise, one jump | final
    _settle(page)


def _new_static_and_an_example(page, phone: bool) -> None:
    """New static, then the example "a sneaker": each brings the outputs into view and makes its picture."""
    panel = _panel(page, page.get_by_role("button", name="Generate", exact=True))
    seed = panel.get_by_label(re.compile("^Seed"))
    old_seed = seed.input_value()
    _press_and_see_the_outputs(page, panel.get_by_role("button", name="New static", exact=True), phone)
    page.wait_for_function("([box, old]) => box.value !== old", arg=[seed.element_handle(), old_seed])
    panel.get_by_text(re.compile(rf"seed {seed.input_value()}\. Drag")).wait_for()  # that static's picture
    _settle(page)
    _press_and_see_the_outputs(page, panel.get_by_text("a sneaker", exact=True), phone)
    panel.get_by_text(re.compile(r"a sneaker\W+→ Sneaker")).wait_for()  # what was drawn: the example's picture
    _settle(page)


def _press_and_see_the_outputs(page, target, phone: bool) -> None:
    """Press ``target`` from the bottom of the screen; the Remove-noise outputs are then on screen.

    On a phone the outputs sit below the controls, so before the press they are out of sight and the tab
    must scroll to them; on a desktop they are beside the controls, in sight all along.
    """
    target.evaluate("e => e.scrollIntoView({block: 'end'})")
    assert page.evaluate(IN_VIEW, GENERATE_RESULTS) is not phone
    target.click()
    page.wait_for_function(IN_VIEW, arg=GENERATE_RESULTS)


def _upload(page, folder: Path) -> None:
    """Too large a file is refused, a text file named .png gets our message, a real picture its 28×28 preview."""
    page.get_by_role("tab", name="Upload", exact=True).click()
    panel = _panel(page, page.get_by_text("What the model gets"))
    (folder / "big.png").write_bytes(b"\0" * (MAX_BYTES + 1))
    panel.locator("input[type=file]").set_input_files(folder / "big.png")
    _close_toast(page, "exceed the maximum allowed size")
    (folder / "notes.png").write_text("this is not a picture\n")
    panel.locator("input[type=file]").set_input_files(folder / "notes.png")
    _close_toast(page, "not an image this app can read")
    ring = Image.new("RGB", (300, 200), "white")
    ImageDraw.Draw(ring).ellipse((75, 25, 225, 175), outline="black", width=14)
    ring.save(folder / "ring.png")
    panel.get_by_label("Clear").first.click()
    panel.locator("input[type=file]").set_input_files(folder / "ring.png")
    page.get_by_text(re.compile(r"your picture, \w+ schedule")).wait_for()  # the numbers under x_t
    panel.get_by_role("img").first.wait_for()  # the 28×28 preview
    _settle(page)


# ----------------------------------------------------------------------------- helpers

def _settle(page) -> None:
    """Wait until no event is pending, every visible eager image has loaded and nothing says "Loading..."."""
    page.wait_for_function(SETTLED, timeout=TIMEOUT_MS)


def _close_toast(page, message: str) -> None:
    """Wait for the pop-up message holding ``message``, then close it."""
    toast = page.get_by_test_id("toast-text").filter(has_text=message)
    toast.wait_for()
    page.get_by_test_id("toast-close").first.click()
    toast.wait_for(state="detached")


def _tab_bar(page):
    """The app's top-level tab bar (not the tabs nested inside a tab)."""
    return page.locator(".tabs").first.locator(":scope > .tab-wrapper")


def _open_tab(page, title: str) -> None:
    tab = _tab_bar(page).get_by_role("tab", name=title, exact=True)
    tab.click()
    tab.and_(page.locator("[aria-selected=true]")).wait_for()
    _settle(page)


def _panel(page, inside):
    """The innermost visible tab panel holding ``inside``."""
    return page.get_by_role("tabpanel").filter(has=inside).last


def _screenshot(page, stem: str) -> None:
    """A full-page screenshot, lazy images loaded first (a full page is more than the viewport)."""
    page.wait_for_function(ALL_IMAGES_LOADED, timeout=TIMEOUT_MS)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"{stem}.png", full_page=True)


def _slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
