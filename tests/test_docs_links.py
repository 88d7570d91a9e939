"""Every relative link in README.md and docs/*.md points to a file that exists, and every #anchor to a heading.

Links to web addresses are not followed. Anchors are compared with the heading slugs GitHub makes (lower case,
punctuation dropped, spaces to hyphens).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from explorer.data import PROJECT_ROOT

PAGES = [PROJECT_ROOT / "README.md", *sorted((PROJECT_ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
EXTERNAL = ("http://", "https://", "mailto:")


def _slug(heading: str) -> str:
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _anchors(page: Path) -> set[str]:
    text = re.sub(r"```.*?```", "", page.read_text(), flags=re.S)  # a '#' in a code block is no heading
    return {_slug(m.group(1)) for m in re.finditer(r"^#{1,6}\s+(.+)$", text, flags=re.M)}


def broken_links(page: Path) -> list[str]:
    """The links of ``page`` that point to no file, or to no heading of the file they name."""
    broken = []
    for target in LINK.findall(page.read_text()):
        if target.startswith(EXTERNAL):
            continue
        path, _, anchor = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        if not linked.exists():
            broken.append(target)
        elif anchor and linked.suffix == ".md" and anchor not in _anchors(linked):
            broken.append(target)
    return broken


def test_the_readme_links_the_docs_pages():
    assert len(PAGES) > 1, "docs/ has no pages"
    readme = PAGES[0].read_text()
    for page in PAGES[1:]:
        assert f"(docs/{page.name})" in readme, f"README.md does not link docs/{page.name}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(PROJECT_ROOT).as_posix())
def test_relative_links_point_to_existing_files(page):
    assert broken_links(page) == []


def test_a_broken_link_is_found(tmp_path):
    (tmp_path / "there.md").write_text("# A heading (2026)\n")
    page = tmp_path / "page.md"
    page.write_text("[ok](there.md) [ok](there.md#a-heading-2026) [web](https://example.org/x)\n"
                    "[gone](missing.md) [no heading](there.md#elsewhere) [no anchor here](#nowhere)\n")
    assert broken_links(page) == ["missing.md", "there.md#elsewhere", "#nowhere"]
