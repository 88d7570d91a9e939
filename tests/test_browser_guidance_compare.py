"""The Guidance and Compare tabs in a real browser (Debian's Chromium, headless), at a desktop and a phone-sized
viewport. Guidance: the maths is closed until opened, and ticking "guide every step" remakes the grid, says so
and answers the question about it. Compare: its question sits beside the 1-vs-many-steps pair and is answered
once the comparison has been made. Everything fits (nothing scrolls sideways, chart titles inside their charts).
Screenshots go to artifacts/screenshots/ (test artifacts, not in git). Never downloads a browser.
"""

from __future__ import annotations

import re

from browser_pages import (
    NEEDS_CHROMIUM,
    _assert_fits,
    _open_tab,
    _panel,
    _screenshot,
    _settle,
    app_page,  # noqa: F401 (a fixture, found by name)
    browser,  # noqa: F401 (a fixture, found by name)
)

pytestmark = NEEDS_CHROMIUM


def test_guidance_maths_is_closed_and_every_step_is_a_toggle(app_page):
    name, page = app_page
    _open_tab(page, "Guidance")
    panel = _panel(page, page.get_by_role("button", name="Make the grid", exact=True))
    maths = panel.get_by_text(re.compile("Some papers and code write w = s − 1, so their"))
    assert not maths.is_visible()
    panel.get_by_text("The numbers", exact=True).first.click()  # the interval note is in there
    panel.get_by_text("Where the push applies").first.wait_for()
    panel.get_by_text("Next: guide every step", exact=True).click()  # the second experiment, closed at first
    panel.get_by_text("More alike", exact=True).click()
    panel.get_by_text("Your guess: More alike. Now tick Guide every step and watch.").wait_for()
    assert "Right" not in panel.inner_text()
    panel.get_by_role("checkbox", name=re.compile("Guide every step")).check()
    panel.get_by_text("Guide every step is on").first.wait_for(state="attached")
    panel.get_by_text(re.compile("Right.*drives every static towards")).wait_for()  # the new grid answers it
    _settle(page)
    _assert_fits(page)
    _screenshot(page, f"{name}-guidance-every-step")
    panel.get_by_text("Teacher notes", exact=True).first.click()
    maths.wait_for()


def test_compare_asks_before_the_one_step_picture(app_page):
    name, page = app_page
    _open_tab(page, "Compare")
    panel = _panel(page, page.get_by_role("button", name="Make them", exact=True))
    panel.get_by_text("How each one works").first.wait_for()
    question = panel.get_by_text(re.compile("One network pass from pure static"))
    assert question.is_visible()
    panel.get_by_text("Blurry: a soft smudge", exact=True).click()
    panel.get_by_text("Your guess: Blurry: a soft smudge. Now press Make them").wait_for()
    assert "an average is blurry" not in panel.inner_text()
    panel.get_by_role("button", name="Make them", exact=True).click()
    panel.get_by_text(re.compile("Right.*an average is blurry")).wait_for()
    _settle(page)
    _assert_fits(page)
    _screenshot(page, f"{name}-compare-question")
