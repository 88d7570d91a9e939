"""The misconception parts of the app in a real browser (Debian's Chromium, headless), desktop and phone.

Mistakes tab: a predict-then-reveal answer is judged in the page; "odd ones out" and "ask for both" each
bring their results into view and everything fits (nothing scrolls sideways, chart titles inside their
charts). Guidance tab: the maths is closed until opened, and ticking "guide every step" remakes the grid
and says so. Compare tab: its question sits beside the 1-vs-many-steps pair. Screenshots go to
artifacts/screenshots/ (test artifacts, not in git). Never downloads a browser.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from test_browser import (ALL_IMAGES_LOADED, ARGS, BAD_TITLES, CHROMIUM, IN_VIEW, SCREENSHOTS, SIDEWAYS,
                                SETTLED, TIMEOUT_MS, VIEWPORTS)

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(),
                                reason="Debian's Chromium (/usr/bin/chromium) is not installed: apt-get install chromium")


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(params=list(VIEWPORTS))
def app_page(request, browser, running_app):
    width, height = VIEWPORTS[request.param]
    page = browser.new_page(viewport={"width": width, "height": height})
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(running_app)
    _tab_bar(page).get_by_role("tab").first.wait_for()
    _settle(page)
    yield request.param, page
    page.close()


def test_mistakes_tab(app_page):
    name, page = app_page
    _open_tab(page, "Mistakes")
    _assert_fits(page)
    _screenshot(page, f"{name}-mistakes-opened")
    panel = _panel(page, page.get_by_role("button", name="Ask for both", exact=True))
    panel.get_by_text("No: just as crisp as the good ones", exact=True).click()
    panel.get_by_text(re.compile("Right.*no sense of being wrong")).wait_for()
    _run_and_see(page, "Make 64 and find the odd ones", "training pictures shipped", "odd-results")
    _screenshot(page, f"{name}-mistakes-odd-ones")
    panel.get_by_text("A sneaker next to a bag", exact=True).click()
    panel.get_by_text(re.compile("Not quite — the answer is: One crisp object")).wait_for()
    _run_and_see(page, "Ask for both", "What was asked", "pair-results")
    assert panel.locator(".js-plotly-plot").first.is_visible()
    _screenshot(page, f"{name}-mistakes-both")


def test_guidance_maths_is_closed_and_every_step_is_a_toggle(app_page):
    name, page = app_page
    _open_tab(page, "Guidance")
    panel = _panel(page, page.get_by_role("button", name="Make the grid", exact=True))
    maths = panel.get_by_text(re.compile("Some papers and code write w = s − 1, so their"))
    assert not maths.is_visible()
    panel.get_by_text("Where the push applies").first.wait_for()
    panel.get_by_role("checkbox", name=re.compile("Guide every step")).check()
    panel.get_by_text("Guide every step is on").wait_for()
    _settle(page)
    _assert_fits(page)
    _screenshot(page, f"{name}-guidance-every-step")
    panel.get_by_text("The maths", exact=True).first.click()
    maths.wait_for()


def test_compare_asks_before_the_one_step_picture(app_page):
    name, page = app_page
    _open_tab(page, "Compare")
    panel = _panel(page, page.get_by_role("button", name="Make them", exact=True))
    panel.get_by_text("How each one works").first.wait_for()
    question = panel.get_by_text(re.compile("One network pass from pure static"))
    assert question.is_visible()
    panel.get_by_text("Blurry: a soft smudge", exact=True).click()
    panel.get_by_text(re.compile("Right.*an average is blurry")).wait_for()
    _assert_fits(page)
    _screenshot(page, f"{name}-compare-question")


# ----------------------------------------------------------------------------- helpers (as in test_browser)

def _assert_fits(page) -> None:
    assert page.evaluate(SIDEWAYS) == []
    assert page.evaluate(BAD_TITLES) == []


def _run_and_see(page, button: str, done_text: str, result_id: str) -> None:
    panel = _panel(page, page.get_by_role("button", name=button, exact=True))
    panel.get_by_role("button", name=button, exact=True).click()
    panel.get_by_text(done_text).first.wait_for()
    page.wait_for_function(IN_VIEW, arg=f"#{result_id}")
    _settle(page)
    _assert_fits(page)


def _settle(page) -> None:
    page.wait_for_function(SETTLED, timeout=TIMEOUT_MS)


def _tab_bar(page):
    return page.locator(".tabs").first.locator(":scope > .tab-wrapper")


def _open_tab(page, title: str) -> None:
    tab = _tab_bar(page).get_by_role("tab", name=title, exact=True)
    tab.click()
    tab.and_(page.locator("[aria-selected=true]")).wait_for()
    _settle(page)


def _panel(page, inside):
    return page.get_by_role("tabpanel").filter(has=inside).last


def _screenshot(page, stem: str) -> None:
    page.wait_for_function(ALL_IMAGES_LOADED, timeout=TIMEOUT_MS)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=Path(SCREENSHOTS) / f"{stem}.png", full_page=True)
