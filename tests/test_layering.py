"""The layering of DESIGN.md: gradio is imported only in explorer/ui/ and app.py; app.py builds; the app never
imports the measurement and operations code (explorer/tools/).

The exceptions: explorer/tools/loadtest.py is a client of the running app and may import gradio_client;
explorer/ui/serving.py calls Gradio's own clean-up of its temporary files.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
UI_DIR = ROOT / "explorer" / "ui"
ALLOWED = {ROOT / "explorer" / "tools" / "loadtest.py": {"gradio_client"},  # a client of the app, not a layer
           ROOT / "explorer" / "ui" / "serving.py": {"gradio.route_utils"}}  # its cache clean-up, nothing else


def _imported_modules(path: Path, with_from_names: bool = False) -> set[str]:
    """Modules ``path`` imports; with ``with_from_names``, ``from package import name`` also as ``package.name``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            if with_from_names:
                names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _non_ui_modules() -> list[Path]:
    return sorted(p for p in (ROOT / "explorer").rglob("*.py") if UI_DIR not in p.parents)


@pytest.mark.parametrize("path", _non_ui_modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_gradio_outside_the_ui(path):
    gradio_imports = {m for m in _imported_modules(path) if m.split(".")[0] in ("gradio", "gradio_client")}
    gradio_imports -= ALLOWED.get(path, set())
    assert not gradio_imports, (f"{path.relative_to(ROOT)} imports {sorted(gradio_imports)}; "
                                "only explorer/ui/ and app.py may")


def test_app_builds_without_launching():
    import gradio as gr

    from app import build_app

    demo = build_app()
    assert isinstance(demo, gr.Blocks)
    assert not demo.is_running


def _module_path(name: str) -> Path | None:
    """The file of an ``explorer`` module or package, or None for anything else."""
    if name.split(".")[0] != "explorer":
        return None
    base = ROOT.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.exists():
            return candidate
    return None


def _reachable_from(path: Path) -> set[str]:
    """Every explorer module that ``path`` imports, directly or through others (lazy imports included)."""
    seen, todo = set(), [path]
    while todo:
        for name in _imported_modules(todo.pop(), with_from_names=True):
            module = _module_path(name)
            if module is not None and name not in seen:
                seen.add(name)
                todo.append(module)
    return seen


def test_the_app_never_imports_the_measurement_and_operations_tools():
    reached = _reachable_from(ROOT / "app.py")
    assert "explorer.denoiser" in reached and "explorer.ui.serving" in reached  # the walk sees the app
    tools = sorted(m for m in reached if m == "explorer.tools" or m.startswith("explorer.tools."))
    assert not tools, f"the app imports {tools}; explorer/tools/ is for the command line and benchmarks"


def test_the_page_ends_with_the_note_about_this_server():
    from app import build_app
    from explorer.ui import common

    demo = build_app()
    notes = [b for b in demo.blocks.values() if getattr(b, "elem_id", None) == "server-note"]
    assert len(notes) == 1 and notes[0].value == common.server_text()


def test_guidance_is_maths_and_never_runs_the_network_itself():
    """explorer/guidance.py takes a forward callable; how the network runs (batches, turns, shared calls, precision)
    is the Denoiser's (explorer.denoiser), through the one module that runs network calls (explorer.shared_calls)."""
    reached = _reachable_from(ROOT / "explorer" / "guidance.py")
    serving = sorted(reached & {"explorer.shared_calls", "explorer.turns", "explorer.precision", "explorer.denoiser"})
    assert not serving, f"explorer/guidance.py reaches {serving}; it should take a forward callable instead"
