"""The Mistakes tab in a real browser (Debian's Chromium, headless), at a desktop and a phone-sized viewport: a
predict-then-reveal guess is judged in the page only once its section has run; "odd ones out" and "ask for both"
each bring their results into view and everything fits (nothing scrolls sideways, chart titles inside their
charts). Screenshots go to artifacts/screenshots/ (test artifacts, not in git). Never downloads a browser.
"""

from __future__ import annotations

import re

from browser_pages import (
    NEEDS_CHROMIUM,
    _assert_fits,
    _open_tab,
    _panel,
    _run_and_see,
    _screenshot,
    app_page,  # noqa: F401 (a fixture, found by name)
    browser,  # noqa: F401 (a fixture, found by name)
)

pytestmark = NEEDS_CHROMIUM


def test_mistakes_tab(app_page):
    name, page = app_page
    _open_tab(page, "Mistakes")
    _assert_fits(page)
    _screenshot(page, f"{name}-mistakes-opened")
    panel = _panel(page, page.get_by_role("button", name="Ask for both", exact=True))
    panel.get_by_text("No: just as crisp as the good ones", exact=True).click()
    panel.get_by_text("Your guess: No: just as crisp as the good ones. Now press Find the odd ones").wait_for()
    assert "no sense of being wrong" not in panel.inner_text()  # the answer waits for the run
    _run_and_see(page, "Find the odd ones", "It imitates the look", "odd-results")
    panel.get_by_text(re.compile("Right.*no sense of being wrong")).wait_for()
    _screenshot(page, f"{name}-mistakes-odd-ones")
    panel.get_by_text("A sneaker next to a bag", exact=True).click()
    panel.get_by_text("Your guess: A sneaker next to a bag. Now press Ask for both").wait_for()
    assert "the answer is: One crisp object" not in panel.inner_text()
    _run_and_see(page, "Ask for both", "Told both, the judge names", "pair-results")
    panel.get_by_text(re.compile("Not quite — the answer is: One crisp object")).wait_for()
    assert panel.locator(".js-plotly-plot").first.is_visible()
    _screenshot(page, f"{name}-mistakes-both")
