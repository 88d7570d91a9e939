"""What the browser tests share: Debian's Chromium launched headless, the running app in a page per viewport.

Owns launching Debian's Chromium (/usr/bin/chromium, headless; never downloads a browser), a fresh page
of the running app (``running_app`` in conftest.py) at each viewport (desktop and phone), waiting for a
page to settle, and the layout checks (nothing scrolls sideways, every chart's and axis's title inside
its chart, no y-axis title taller than the plot) and full-page screenshots (to artifacts/screenshots/,
test artifacts, not in git) that the test_browser*.py modules use.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
NEEDS_CHROMIUM = pytest.mark.skipif(  # every browser test module's pytestmark
    not CHROMIUM.exists(), reason="Debian's Chromium (/usr/bin/chromium) is not installed: apt-get install chromium")
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
BAD_AXIS_TITLES = """() => Array.from(document.querySelectorAll('.js-plotly-plot'))
    .filter(p => p.offsetParent !== null && p.querySelector('.nsewdrag')).flatMap(plot => {
        const figure = plot.getBoundingClientRect(), area = plot.querySelector('.nsewdrag').getBoundingClientRect();
        const bad = (selector, outside) => Array.from(plot.querySelectorAll(selector))
            .filter(title => { const r = title.getBoundingClientRect(); return r.width > 0 && outside(r); });
        return [...bad('.g-ytitle', r => r.top < area.top - 1 || r.bottom > area.bottom + 1),
                ...bad('.g-xtitle', r => r.left < figure.left - 1 || r.right > figure.right + 1)]
            .map(title => title.textContent); })"""
IN_VIEW = """(selector) => { const r = document.querySelector(selector).getBoundingClientRect();
    return r.bottom > 0 && r.top < window.innerHeight; }"""
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


def _assert_fits(page) -> None:
    """Nothing scrolls sideways, every visible chart's title is inside it, clear of its plot and legend, every
    y-axis title is no taller than the plot (else it runs into the chart's title, the ticks or the legend)
    and every x-axis title is inside the chart."""
    assert page.evaluate(SIDEWAYS) == []
    bad_titles = page.evaluate(BAD_TITLES)
    assert bad_titles == [], bad_titles
    bad_axes = page.evaluate(BAD_AXIS_TITLES)
    assert bad_axes == [], bad_axes


def _run_and_see(page, button: str, done_text: str, result_id: str) -> None:
    """Press ``button``; when ``done_text`` shows, the result ``result_id`` is on screen and everything fits."""
    panel = _panel(page, page.get_by_role("button", name=button, exact=True))
    panel.get_by_role("button", name=button, exact=True).click()
    panel.get_by_text(done_text).first.wait_for()
    page.wait_for_function(IN_VIEW, arg=f"#{result_id}")
    _settle(page)
    _assert_fits(page)


def _settle(page) -> None:
    """Wait until no event is pending, every visible eager image has loaded and nothing says "Loading..."."""
    page.wait_for_function(SETTLED, timeout=TIMEOUT_MS)


def _tab_bar(page):
    """The app's top-level tab bar (not the tabs nested inside a tab)."""
    return page.locator(".tabs").first.locator(":scope > .tab-wrapper")


def _open_tab(page, title: str) -> None:
    """Click the top-level tab ``title``, wait until it is the selected one and the page has settled."""
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
    """A file-name-safe form of a tab title ("Add noise" → "add-noise")."""
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
