"""Links to a demo: the tab and its settings live in the page's address, so a teacher can send the class there.

Owns: the address's query string (``?tab=<id>&dataset=<key>&present=1&<setting>=<value>…``), which
settings of each tab travel in a link and how each is read (``Whole``, ``Real``, ``Choice``, ``Text``,
``Flag``: a bad or unknown value is left out with a visible note, never an error page), applying a link
when a page loads (that tab selected, its settings set, its main button pressed so the page shows the
linked picture — only for a link naming one of the main demo's own settings: a section's settings press only
that section's button), the page's script that keeps the address up to date while a student changes a setting
(replaced in place) or a tab (a new history entry, so Back returns to the previous tab and reload keeps
the state), Present mode (``?present=1`` or the toggle: the lesson text and the long header fold away)
and the "Copy link" / QR-code controls.
Does not know: what a setting does (tabs register their widgets here), the maths or the serving.
"""

from __future__ import annotations

import io
import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import gradio as gr

MAX_LINK_CHARS = 2000  # a longer address is not turned into a QR code (phones' cameras read ~2 kB at most)
PRESENT = "present"  # the query key and the page's CSS class of Present mode
RESERVED = ("tab", "dataset", PRESENT)
LIGHT = dict(queue=False, api_visibility="private", show_progress="hidden")  # page-only events: no queue, no spinner


# ----------------------------------------------------------------------------- reading one value

@dataclass(frozen=True)
class Whole:
    """A whole number from ``low`` to ``high``."""

    low: int
    high: int

    def read(self, text: str) -> int:
        if not re.fullmatch(r"-?\d{1,12}", text) or not self.low <= int(text) <= self.high:
            raise ValueError(f"a whole number from {self.low} to {self.high}")
        return int(text)


@dataclass(frozen=True)
class Real:
    """A number from ``low`` to ``high`` (plain decimal notation only)."""

    low: float
    high: float

    def read(self, text: str) -> float:
        if not re.fullmatch(r"-?\d{1,6}(\.\d{1,6})?", text) or not self.low <= float(text) <= self.high:
            raise ValueError(f"a number from {self.low:g} to {self.high:g}")
        return float(text)


@dataclass(frozen=True)
class Choice:
    """One of ``values``."""

    values: tuple[str, ...]

    def read(self, text: str) -> str:
        if text not in self.values:
            raise ValueError("one of " + ", ".join(self.values))
        return text


@dataclass(frozen=True)
class Text:
    """Free text of at most ``max_chars`` printable characters (the demo's own check judges its meaning)."""

    max_chars: int

    def read(self, text: str) -> str:
        if len(text) > self.max_chars or not text.isprintable():
            raise ValueError(f"printable text of at most {self.max_chars} characters")
        return text


@dataclass(frozen=True)
class Flag:
    """On (1) or off (0)."""

    def read(self, text: str) -> bool:
        if text not in ("0", "1"):
            raise ValueError("0 or 1")
        return text == "1"


Kind = Whole | Real | Choice | Text | Flag


# ----------------------------------------------------------------------------- the book of links

@dataclass
class Setting:
    name: str  # its key in the address
    component: Any  # the gr widget
    kind: Kind
    default: Any


@dataclass
class TabLinks:
    """One tab's id, title, the settings that travel in its links and the button that makes its picture."""

    id: str
    title: str
    block: Any = None  # the gr.Tab
    settings: list[Setting] = field(default_factory=list)
    main_button: Any = None
    pressed_apart: set[str] = field(default_factory=set)  # settings of sections that have their own button

    def main_settings(self) -> list[str]:
        """The names of the settings whose presence in a link presses ``main_button`` (not a section's)."""
        return [s.name for s in self.settings if s.name not in self.pressed_apart]


@dataclass
class Reading:
    """What a page's address asks for: a tab, a dataset, values per widget, and what was left out (notes)."""

    tab: str | None = None
    dataset: str | None = None
    values: dict[int, Any] = field(default_factory=dict)  # id(component) → value
    notes: list[str] = field(default_factory=list)


class Book:
    """The tabs of one app and the settings each registered (``setting`` and ``main_button`` add to the open tab)."""

    def __init__(self, datasets: tuple[str, ...]):
        self.datasets = datasets
        self.tabs: list[TabLinks] = []

    def open_tab(self, tab_id: str, title: str, block: Any) -> None:
        global _current
        self.tabs.append(TabLinks(tab_id, title, block))
        _current = self

    def read(self, query: Mapping[str, str]) -> Reading:
        """The address's ``query`` read against the registered tabs; bad values become notes, never errors."""
        reading = Reading()
        by_id = {tab.id: tab for tab in self.tabs}
        tab = by_id.get(query.get("tab", ""))
        if "tab" in query and tab is None:
            reading.notes.append(f"tab={_shown(query['tab'])} (the tabs are: {', '.join(by_id)})")
        if "dataset" in query:
            try:
                reading.dataset = Choice(self.datasets).read(query["dataset"])
            except ValueError as why:
                reading.notes.append(f"dataset={_shown(query['dataset'])} (must be {why})")
        reading.tab = tab.id if tab else None
        settings = {s.name: s for s in tab.settings} if tab else {}
        for key, text in query.items():
            if key in RESERVED:
                continue
            if key not in settings:
                reading.notes.append(f"{_shown(key)} (not a setting of {tab.title if tab else 'this page'})")
                continue
            try:
                reading.values[id(settings[key].component)] = settings[key].kind.read(text)
            except ValueError as why:
                reading.notes.append(f"{key}={_shown(text)} (must be {why})")
        return reading


_current: Book | None = None


def setting(name: str, component: Any, kind: Kind) -> Any:
    """Let ``component`` travel in links of the tab being built, under ``name``; returns the component."""
    if _current is not None and _current.tabs:
        _current.tabs[-1].settings.append(Setting(name, component, kind, component.value))
    return component


def main_button(button: Any) -> Any:
    """``button`` makes the picture of the tab being built: a link with settings presses it once on load."""
    if _current is not None and _current.tabs:
        _current.tabs[-1].main_button = button
        button.elem_id = button.elem_id or f"{_current.tabs[-1].id}-main"
    return button


def linked_run_check() -> Callable[[Any], bool]:
    """For the tab being built: whether a page's request (``gr.Request``) links to this tab with settings, so that
    its main button will be pressed (an opening must then not replace or replay over the linked run)."""
    tab = _current.tabs[-1] if _current is not None and _current.tabs else None

    def linked(request: Any) -> bool:
        query = dict(request.query_params) if request is not None else {}
        return tab is not None and query.get("tab") == tab.id and any(name in query for name in tab.main_settings())

    return linked


SECTION_WAIT_MS = 130_000  # how long a linked section's press waits for its opening (openings.WAIT_S and more)
SECTION_PRESS_JS = """() => { const started = Date.now();
  const press = () => { const links = window.explorerLinks;
    if (!links || !links.ready) return void setTimeout(press, 100);
    if (!links.linkedSettings(TAB, NAMES)) return;
    if (AFTER && !document.querySelector(AFTER) && Date.now() - started < WAIT) return void setTimeout(press, 200);
    setTimeout(() => document.querySelector('#BUTTON')?.click(), 600); };
  press(); }"""


def press_when_linked(button: Any, names: list[str], after: str = "") -> Any:
    """For a demo of the tab being built that has its own button (a section below the tab's main demo, or a tab
    whose opening comes from the background): a link to this tab naming any of the settings ``names`` presses
    ``button`` once on load, after the link's values are set and, with ``after`` (a CSS selector), once that
    element is on the page (the demo's opening, which would otherwise land over the linked run). Those settings
    never press the tab's main button (``main_button``): a link to this demo runs this demo only. Returns it."""
    tab = _current.tabs[-1] if _current is not None and _current.tabs else None
    if tab is None:
        return button
    tab.pressed_apart.update(names)
    button.elem_id = button.elem_id or f"{tab.id}-press-{len(tab.settings)}"
    js = (SECTION_PRESS_JS.replace("TAB", json.dumps(tab.id)).replace("NAMES", json.dumps(list(names)))
          .replace("AFTER", json.dumps(after)).replace("WAIT", str(SECTION_WAIT_MS))
          .replace("BUTTON", button.elem_id))
    gr.on(None, None, js=js, **LIGHT)
    return button


def _shown(text: str) -> str:
    """A link's text as it may appear in a note: printable, short."""
    text = "".join(c if c.isprintable() else "?" for c in str(text))
    return text[:40] + ("…" if len(text) > 40 else "")


# ----------------------------------------------------------------------------- the page

def head(book: Book) -> str:
    """The page's script: keeps the address in step with the tab and its settings; Back goes to the previous tab."""
    titles = {tab.id: tab.title for tab in book.tabs}
    return f"<script>\nconst EXPLORER_TABS = {json.dumps(titles)};\n{PAGE_JS}\n</script>"


PAGE_JS = """
window.explorerLinks = {
  fromHistory: false,
  ready: false,  // set once the page's link has been applied: until then the address is the link itself
  write(tabId, names, defaults, values, push) {
    if (!this.ready) return;
    const old = new URLSearchParams(location.search);
    const shown = old.get('tab') || Object.keys(EXPLORER_TABS)[0];
    if (!push && shown !== tabId) return;
    const query = new URLSearchParams();
    query.set('tab', tabId);
    if (old.get('present') === '1') query.set('present', '1');
    const [dataset, ...rest] = values;
    if (dataset !== 'fashion') query.set('dataset', dataset);
    rest.forEach((v, i) => {
      const text = typeof v === 'boolean' ? (v ? '1' : '0') : String(v ?? '');
      const plain = typeof defaults[i] === 'boolean' ? (defaults[i] ? '1' : '0') : String(defaults[i] ?? '');
      if (text !== plain) query.set(names[i], text);
    });
    const url = location.pathname + '?' + query.toString();
    if (url === location.pathname + location.search) return;
    if (push && !this.fromHistory) history.pushState(null, '', url); else history.replaceState(null, '', url);
    this.fromHistory = false;
  },
  tabButton(title) {
    const bar = document.querySelector('.tabs > .tab-wrapper');
    return bar && Array.from(bar.querySelectorAll('[role=tab]')).find(b => b.textContent.trim() === title);
  },
  linkedSettings(tabId, names) {
    const query = new URLSearchParams(location.search);
    return query.get('tab') === tabId && names.some(n => query.has(n));
  },
  setPresent(on) {
    document.documentElement.classList.toggle('present', on);
    const query = new URLSearchParams(location.search);
    if (on) query.set('present', '1'); else query.delete('present');
    history.replaceState(null, '', location.pathname + (query.toString() ? '?' + query : ''));
  },
};
if (new URLSearchParams(location.search).get('present') === '1') document.documentElement.classList.add('present');
addEventListener('popstate', () => {
  const tabId = new URLSearchParams(location.search).get('tab') || Object.keys(EXPLORER_TABS)[0];
  const button = window.explorerLinks.tabButton(EXPLORER_TABS[tabId]);
  if (button && button.getAttribute('aria-selected') !== 'true') { \
window.explorerLinks.fromHistory = true; button.click(); }
});
"""


def wire(book: Book, tabs: gr.Tabs, dataset_radio: gr.Radio, note: gr.Markdown) -> None:
    """Apply a page's link when it loads, keep its address up to date, and press the linked tab's button."""
    widgets = [s.component for tab in book.tabs for s in tab.settings]

    def apply(request: gr.Request) -> list:
        reading = book.read(dict(request.query_params) if request else {})
        values = [reading.values.get(id(widget), gr.skip()) for widget in widgets]
        shown = ("Left out of this link: " + "; ".join(reading.notes) + ".") if reading.notes else ""
        return [gr.Tabs(selected=reading.tab) if reading.tab else gr.skip(),
                reading.dataset or gr.skip(), *values, gr.Markdown(shown, visible=bool(shown))]

    loaded = gr.on(None, apply, outputs=[tabs, dataset_radio, *widgets, note], **LIGHT)
    loaded = loaded.then(None, js="() => { window.explorerLinks.ready = true; }", **LIGHT)
    for tab in book.tabs:
        _keep_address(tab, dataset_radio)
        if tab.main_button is not None:
            names = json.dumps(tab.main_settings())  # a section's own settings press its own button only
            loaded.then(None, js=f"""() => {{ if (window.explorerLinks.linkedSettings('{tab.id}', {names}))
                setTimeout(() => document.querySelector('#{tab.main_button.elem_id}')?.click(), 300); }}""",
                        **LIGHT)


def _keep_address(tab: TabLinks, dataset_radio: gr.Radio) -> None:
    """The address follows this tab's settings while it is shown, and gets a history entry when it is chosen."""
    names = json.dumps([s.name for s in tab.settings])
    defaults = json.dumps([_plain(s.default) for s in tab.settings])
    inputs = [dataset_radio, *[s.component for s in tab.settings]]
    light = dict(inputs=inputs, **LIGHT)
    write = "(...values) => window.explorerLinks.write('{id}', {names}, {defaults}, values, {push})"
    tab.block.select(None, js=write.format(id=tab.id, names=names, defaults=defaults, push="true"), **light)
    gr.on([dataset_radio.change, *[s.component.change for s in tab.settings]], None,
          js=write.format(id=tab.id, names=names, defaults=defaults, push="false"), **light)


def _plain(value: Any) -> Any:
    """A widget's default as the page's script compares it (JSON: NaN and ∞ never occur in defaults)."""
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    return value


# ----------------------------------------------------------------------------- share controls

COPY_JS = """() => { const url = location.href;
  if (navigator.clipboard && window.isSecureContext) navigator.clipboard.writeText(url).catch(() => {});
  return url; }"""
URL_JS = "() => location.href"


def share_buttons() -> tuple[gr.Button, gr.Button, gr.Button]:
    """The header's Present-mode toggle, "Copy link" and "QR code" buttons (wired by ``share_box``)."""
    present = gr.Button("Present mode", size="sm", min_width=80, elem_id="present-toggle", scale=0)
    copy = gr.Button("Copy link", size="sm", min_width=80, elem_id="copy-link", scale=0)
    qr = gr.Button("QR code", size="sm", min_width=80, elem_id="show-qr", scale=0)
    present.click(None, js="() => window.explorerLinks.setPresent("
                           "!document.documentElement.classList.contains('present'))", **LIGHT)
    return present, copy, qr


def share_box(copy: gr.Button, qr: gr.Button) -> None:
    """The box that "Copy link" and "QR code" open: the page's link as text (copied where the browser allows)
    and, for the projector, its QR code."""
    with gr.Column(visible=False, elem_id="share-box") as box:
        code = gr.HTML()
        link = gr.Textbox(label="This page's link (it keeps the tab and its settings)", buttons=["copy"],
                          interactive=False)
        close = gr.Button("Close", size="sm")
    copy.click(None, js=COPY_JS, outputs=link, **LIGHT).then(
        lambda: (gr.Column(visible=True), ""), outputs=[box, code], **LIGHT)
    qr.click(qr_code, inputs=link, outputs=[code, link, box], js=URL_JS, queue=False, api_name="qr_code",
             api_visibility="undocumented", show_progress="hidden")
    close.click(lambda: gr.Column(visible=False), outputs=box, **LIGHT)


def qr_code(url: str) -> tuple:
    """A QR code (inline SVG, large for a projector) of ``url``, the link itself and the opened box."""
    import segno

    if not isinstance(url, str) or not url.strip() or len(url) > MAX_LINK_CHARS:
        raise gr.Error(f"A QR code needs this page's link (at most {MAX_LINK_CHARS} characters).",
                       print_exception=False)
    svg = io.BytesIO()
    segno.make(url, error="m").save(svg, kind="svg", scale=10, border=2, xmldecl=False)
    return (f'<div class="qr-code">{svg.getvalue().decode()}</div>', url, gr.Column(visible=True))
