"""The served app in Chromium, as a projector and a phone show it: links to a demo (tab + settings in the address),
Back and reload, Present mode's main buttons above the fold, Steps = 1 on Remove noise, a link's bad values shown as
a note, one short caption per demo, at most WORDS_PER_DEMO visible words per demo and no jargon on screen before a
click."""

from __future__ import annotations

import pytest

from app import TABS
from browser_pages import (
    NEEDS_CHROMIUM,
    VIEWPORTS,
    _open_tab,
    _settle,
    _tab_bar,
    app_page,  # noqa: F401 (a fixture, found by name)
    browser,  # noqa: F401 (a fixture, found by name)
)

pytestmark = NEEDS_CHROMIUM

SELECTED_TAB = "() => document.querySelector('.tabs > .tab-wrapper [aria-selected=true]')?.textContent.trim()"
MAIN_BUTTONS = {"remove-noise": "Generate", "guidance": "Make the grid", "compare": "Make them",
                "mistakes": "Find the odd ones"}


def _open(browser, url: str, viewport: str = "desktop", size: tuple[int, int] | None = None):  # noqa: F811
    width, height = size or VIEWPORTS[viewport]
    page = browser.new_page(viewport={"width": width, "height": height})
    page.set_default_timeout(120_000)
    page.goto(url)
    _tab_bar(page).get_by_role("tab").first.wait_for()
    _settle(page)
    return page


def _wait_for_tab(page, title: str) -> None:
    page.wait_for_function(f"() => ({SELECTED_TAB})() === '{title}'")


def _done(page, seed: int) -> str:
    """The Remove-noise status once the run of ``seed`` has finished (it starts "Done:")."""
    status = page.locator("p", has_text="Done:").filter(has_text=f"seed {seed}.").first
    status.wait_for()
    return status.inner_text()


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_a_link_opens_its_tab_with_its_settings_and_makes_that_picture(browser, running_app, viewport):  # noqa: F811
    page = _open(browser, running_app + "?tab=remove-noise&seed=9&steps=1&guidance=2", viewport)
    _wait_for_tab(page, "Remove noise")
    done = _done(page, 9)
    assert "Done: 1 step " in done and "seed 9" in done and "guidance s = 2" in done  # Steps = 1 gives a picture
    assert "tab=remove-noise" in page.url and "seed=9" in page.url and "steps=1" in page.url
    page.reload()
    _tab_bar(page).get_by_role("tab").first.wait_for()
    _wait_for_tab(page, "Remove noise")  # reload keeps the state
    assert "Done: 1 step " in _done(page, 9)
    page.close()


def test_the_address_follows_tabs_and_settings_and_back_returns_to_the_previous_tab(browser, running_app):  # noqa: F811
    page = _open(browser, running_app + "?tab=remove-noise")
    _tab_bar(page).get_by_role("tab", name="Compare", exact=True).click()
    page.wait_for_function("() => location.search.includes('tab=compare')")
    seed = page.get_by_label("First seed", exact=True).filter(visible=True).first
    seed.fill("12")
    seed.press("Tab")
    page.wait_for_function("() => location.search.includes('seed=12')")
    page.go_back()
    _wait_for_tab(page, "Remove noise")
    assert "tab=remove-noise" in page.url
    page.close()


def test_bad_values_in_a_link_are_left_out_with_a_note_and_the_page_still_works(browser, running_app):  # noqa: F811
    page = _open(browser, running_app + "?tab=remove-noise&steps=abc&seed=5&colour=red")
    note = page.locator("#link-note")
    note.wait_for()
    assert "steps=abc" in note.inner_text() and "colour" in note.inner_text()
    assert "Done: 16 steps" in _done(page, 5)  # the good value was used, the bad one left at its default
    page.close()


@pytest.mark.parametrize("size", [(1280, 800), (1920, 1080)])
def test_present_mode_shows_each_main_button_above_the_fold_and_hides_the_notes(browser, running_app, size):  # noqa: F811
    for tab, label in MAIN_BUTTONS.items():
        page = _open(browser, running_app + f"?tab={tab}&present=1", size=size)
        page.wait_for_function(f"() => location.search.includes('tab={tab}')")
        page.get_by_role("button", name=label, exact=True).first.wait_for()
        button = page.get_by_role("button", name=label, exact=True).first
        box = button.bounding_box()
        assert box is not None and box["y"] + box["height"] <= size[1], (tab, box)
        assert page.locator(".teacher-notes").filter(visible=True).count() == 0
        assert "present=1" in page.url
        page.close()


def test_the_present_toggle_and_the_qr_code(browser, running_app):  # noqa: F811
    page = _open(browser, running_app + "?tab=guidance")
    page.get_by_role("button", name="Present mode").click()
    page.wait_for_function("() => location.search.includes('present=1')")
    assert page.evaluate("() => document.documentElement.classList.contains('present')")
    page.get_by_role("button", name="QR code").click()
    page.locator(".qr-code svg").wait_for()
    assert "tab=guidance" in page.locator("#share-box textarea").first.input_value()
    page.close()


JARGON = ("√", "ᾱ", "SNR", "signal-to-noise", "x̂", "ε", "DPM-Solver", "DDIM", "DDPM", "t = ", "x_t", "root-mean")
VISIBLE_CAPTIONS = """() => Array.from(document.querySelectorAll('[role=tabpanel] .caption'))
    .filter(e => e.offsetParent !== null).map(e => e.innerText.trim()).filter(Boolean)"""
CAPTION_WORDS = 30  # a caption is one sentence a student reads at a glance


def test_every_demo_opens_with_one_short_caption_and_no_jargon(app_page):  # noqa: F811
    _, page = app_page
    for _, title, _ in TABS:
        _open_tab(page, title)
        panel = page.get_by_role("tabpanel").filter(visible=True).first
        text = panel.inner_text()
        assert [word for word in JARGON if word in text] == [], title
        captions = page.evaluate(VISIBLE_CAPTIONS)
        assert captions, title
        for caption in captions:
            assert len(caption.split()) <= CAPTION_WORDS and caption.count(". ") == 0, (title, caption)


WORDS_PER_DEMO = 100  # a student reads about 80 words; the rest waits in closed sections
# visible words (tokens with a letter) of the open tab, grouped by the caption that opens each demo
DEMO_WORDS = """() => {
    const panel = Array.from(document.querySelectorAll('[role=tabpanel]')).find(p => p.offsetParent !== null);
    const walker = document.createTreeWalker(panel, NodeFilter.SHOW_TEXT | NodeFilter.SHOW_ELEMENT);
    const demos = [{caption: '(above the first caption)', words: 0}];
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        if (node.nodeType === 1) {
            if (node.classList.contains('caption') && node.offsetParent !== null && node.innerText.trim()
                && !node.parentElement.closest('.caption'))
                demos.push({caption: node.innerText.trim(), words: 0});
            continue;
        }
        const element = node.parentElement, box = element?.getBoundingClientRect();
        if (!element || element.closest('.js-plotly-plot, style, script') || box.width <= 1 || box.height <= 1
            || !element.checkVisibility({checkOpacity: true, checkVisibilityCSS: true})) continue;
        demos.at(-1).words += node.textContent.split(/\\s+/).filter(word => /[A-Za-z]/.test(word)).length;
    }
    return demos; }"""


def test_every_demo_opens_with_at_most_a_hundred_visible_words(browser, running_app):  # noqa: F811
    page = _open(browser, running_app)  # desktop: a phone shows the same words
    for _, title, _ in TABS:
        _open_tab(page, title)
        _settle(page)
        demos = page.evaluate(DEMO_WORDS)
        assert len(demos) > 1, title  # every tab opens with a caption
        wordy = [(demo["caption"][:40], demo["words"]) for demo in demos if demo["words"] > WORDS_PER_DEMO]
        assert wordy == [], title
    page.close()
