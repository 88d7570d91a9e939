"""The Add-noise tab in a real browser (Debian's Chromium, headless), at a desktop and a phone-sized viewport:
"Ask the network" follows the picture chosen in the gallery, and nothing scrolls sideways. Screenshots go to
artifacts/screenshots/ (test artifacts, not in git). Never downloads a browser.
"""

from __future__ import annotations

import re

from browser_pages import (
    NEEDS_CHROMIUM,
    _assert_fits,
    _open_tab,
    _screenshot,
    _settle,
    app_page,  # noqa: F401 (a fixture, found by name)
    browser,  # noqa: F401 (a fixture, found by name)
)

pytestmark = NEEDS_CHROMIUM


def test_ask_the_network_follows_the_picture(app_page):
    name, page = app_page
    _open_tab(page, "Add noise")
    section = page.locator("#ask-the-network")
    assert "told the class: T-shirt/top" in section.inner_text()
    page.locator(".grid-container").first.locator("button").nth(25).click()
    section.get_by_text(re.compile(r"real picture #25 ")).wait_for()
    _settle(page)
    _assert_fits(page)
    section.scroll_into_view_if_needed()
    _screenshot(page, f"lesson-{name}-ask-the-network")
