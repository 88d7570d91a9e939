"""The Remove-noise tab in a real browser (Debian's Chromium, headless), at a desktop and a phone-sized viewport.

Its predict-then-reveal question records a guess without answering, answers once the run it asks about has
finished (not on its first frame), and hides the answer again when the guess changes; the finished run plays in
the page (Play moves the step slider and the pictures, Pause stops them); the two sections "Same start,
different endings" and "Switch the prompt" answer their buttons; nothing scrolls sideways and every chart title
stays inside its chart. Screenshots go to artifacts/screenshots/ (test artifacts, not in git). Never downloads
a browser.
"""

from __future__ import annotations

import re

from browser_pages import (
    NEEDS_CHROMIUM,
    RECORD_STEPS,
    SCREENSHOTS,
    _assert_fits,
    _open_tab,
    _panel,
    _screenshot,
    _settle,
    app_page,  # noqa: F401 (a fixture, found by name)
    browser,  # noqa: F401 (a fixture, found by name)
)
from explorer.sampling import DEFAULTS

pytestmark = NEEDS_CHROMIUM

RECORD_REVEAL = """(verdict) => { window.doneAtReveal = null; new MutationObserver(() => {
    if (window.doneAtReveal === null && verdict.innerText.includes('the answer is'))
        window.doneAtReveal = /Done: \\d+ steps.*seed 7\\./.test(document.body.innerText); })
    .observe(verdict, {subtree: true, childList: true, characterData: true}); }"""


def test_a_question_answers_only_after_its_demo_has_run(app_page):
    name, page = app_page
    _open_tab(page, "Remove noise")
    question = page.locator(".predict-question").filter(has_text="sharp or blurry").first
    verdict = question.locator(".predict-verdict").first
    question.scroll_into_view_if_needed()
    assert "Guess, then press Generate" in verdict.inner_text()  # predict_reveal.WAITING
    _screenshot_element(question, f"lesson-{name}-question-0-before")
    question.get_by_text("Sharp", exact=True).click()
    verdict.get_by_text("Your guess: Sharp. Now press Generate and watch.").wait_for()
    page.wait_for_timeout(1000)  # nothing else arrives while the demo has not run
    assert "Not quite" not in verdict.inner_text() and "average" not in verdict.inner_text()
    _screenshot_element(question, f"lesson-{name}-question-1-picked")
    page.evaluate(RECORD_REVEAL, verdict.element_handle())
    page.get_by_label(re.compile("^Seed \\(which static")).fill("7")
    page.get_by_role("button", name="Generate", exact=True).click()
    verdict.get_by_text(re.compile("Not quite — the answer is: Blurry")).wait_for()
    assert "average" in verdict.inner_text()
    assert page.evaluate("() => window.doneAtReveal") is True  # revealed with the finished run, not a frame
    _settle(page)
    question.scroll_into_view_if_needed()
    _screenshot_element(question, f"lesson-{name}-question-2-revealed")
    question.get_by_text("Blurry", exact=True).click()  # another guess hides the answer until the next run
    verdict.get_by_text("Your guess: Blurry.").wait_for()
    assert "Right" not in verdict.inner_text() and "average" not in verdict.inner_text()


def test_the_finished_run_plays_in_the_page(app_page):
    name, page = app_page
    _open_tab(page, "Remove noise")
    panel = _panel(page, page.get_by_role("button", name="Generate", exact=True))
    slider = page.locator("#step-slider input[type=range]")
    page.evaluate(RECORD_STEPS)
    play = panel.get_by_role("button", name=re.compile("Play"))
    play.scroll_into_view_if_needed()
    play.click()
    page.wait_for_function("() => window.stepsSeen.size >= 3")  # the step text moves on by itself…
    panel.get_by_role("button", name=re.compile("Pause")).click()
    page.wait_for_timeout(1500)
    held = slider.input_value()
    page.wait_for_timeout(1500)
    assert slider.input_value() == held and 1 <= int(held) <= 20  # …and the slider with it, until Pause
    assert f"Step {held} of {DEFAULTS.steps}" in panel.inner_text()
    _screenshot(page, f"lesson-{name}-replay")

def test_the_two_remove_noise_sections_answer_their_buttons(app_page):
    name, page = app_page
    _open_tab(page, "Remove noise")
    endings = page.locator("#different-endings")
    endings.get_by_label(re.compile("^First seed")).fill("50")
    endings.get_by_role("button", name=re.compile("Make 6 pictures")).click()
    endings.get_by_text("seeds 50–55").wait_for()
    switch = page.locator("#switch-prompt")
    switch.get_by_label(re.compile("^One static for all")).fill("3")
    switch.get_by_role("button", name="Switch and compare").click()
    switch.get_by_text(re.compile(r"seed 3\.")).wait_for()
    _settle(page)
    _assert_fits(page)
    _screenshot(page, f"lesson-{name}-sections")


# ----------------------------------------------------------------------------- helpers

def _screenshot_element(locator, stem: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    locator.screenshot(path=SCREENSHOTS / f"{stem}.png")
