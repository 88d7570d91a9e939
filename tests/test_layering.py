"""The layering the README's "How it is built" describes: gradio is imported only in explorer/ui/ (the tabs),
explorer/server/ (serving them to a class) and app.py; app.py builds; the app never imports the measurement and
operations code (explorer/tools/).

The exception: explorer/tools/loadtest.py is a client of the running app and may import gradio_client.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
UI_DIR = ROOT / "explorer" / "ui"
SERVER_DIR = ROOT / "explorer" / "server"
ALLOWED = {ROOT / "explorer" / "tools" / "loadtest.py": {"gradio_client"}}  # a client of the app, not a layer


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
    return sorted(p for p in (ROOT / "explorer").rglob("*.py") if not {UI_DIR, SERVER_DIR} & set(p.parents))


@pytest.mark.parametrize("path", _non_ui_modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_gradio_outside_the_ui(path):
    gradio_imports = {m for m in _imported_modules(path) if m.split(".")[0] in ("gradio", "gradio_client")}
    gradio_imports -= ALLOWED.get(path, set())
    assert not gradio_imports, (f"{path.relative_to(ROOT)} imports {sorted(gradio_imports)}; "
                                "only explorer/ui/, explorer/server/ and app.py may")


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
    assert "explorer.denoiser" in reached and "explorer.server.serving" in reached  # the walk sees the app
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
    is the Denoiser's (explorer.denoiser), through the one module that runs network calls
    (explorer.server.shared_calls)."""
    reached = _reachable_from(ROOT / "explorer" / "guidance.py")
    serving = sorted(reached & {"explorer.server.shared_calls", "explorer.server.turns", "explorer.precision",
                                "explorer.denoiser"})
    assert not serving, f"explorer/guidance.py reaches {serving}; it should take a forward callable instead"


# ----------------------------------------------------------------------------- the networks behind their adapters

DEMO_AND_UI = sorted([*(ROOT / "explorer" / "demos").glob("*.py"), *UI_DIR.glob("*.py")])
# (explorer/server/ runs network calls for the Denoiser: explorer.server.shared_calls is where they happen)
NETWORK_PARTS = {"network", "_network", "forward", "_forward", "run_network"}  # attributes that reach a network
PREDICTION_MATHS = {"predictions_from_output", "weighted_prediction", "branch_eps", "make_model_fn", "run_network"}
# ...and the maths that turns a network's raw output into guesses: explorer.denoiser's business


def _network_reaches(source: str) -> list[str]:
    """Where ``source`` reaches a network past its adapter: an attribute in NETWORK_PARTS or PREDICTION_MATHS, a
    ``getattr`` of one, an import of PREDICTION_MATHS or of explorer.server.shared_calls (which runs network calls)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and node.attr in NETWORK_PARTS | PREDICTION_MATHS:
            found.append(f"line {node.lineno}: .{node.attr}")
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "getattr"
              and any(isinstance(a, ast.Constant) and a.value in NETWORK_PARTS for a in node.args)):
            found.append(f"line {node.lineno}: getattr(…, {node.args[1].value!r})")
        elif isinstance(node, ast.ImportFrom) and (node.module == "explorer.server.shared_calls"
                                                   or any(a.name in PREDICTION_MATHS | {"shared_calls"}
                                                          for a in node.names)):
            found.append(f"line {node.lineno}: from {node.module} import {', '.join(a.name for a in node.names)}")
        elif isinstance(node, ast.Import) and any(a.name == "explorer.server.shared_calls" for a in node.names):
            found.append(f"line {node.lineno}: import explorer.server.shared_calls")
    return found


@pytest.mark.parametrize("path", DEMO_AND_UI, ids=lambda p: str(p.relative_to(ROOT)))
def test_demos_and_the_ui_never_touch_a_network(path):
    """The Denoiser is the only way to a denoising network: the demos and the UI ask it (``model_fn``,
    ``steering_fn``, ``guesses``, ``steps``, ``images``, ``counting_passes``) and never hold its network, call
    ``forward`` or turn raw outputs into guesses themselves, so every network call takes its turn, is shared, runs
    in the model's precision and meets a fast copy's guard.

    The choice: rather than tell a denoiser's ``.network`` from the judge's, the VAE's and the GAN's (which are not
    denoisers), every network has an adapter and no ``.network`` at all appears in explorer/demos/ or explorer/ui/:
    a Denoiser for the denoisers (explorer.denoiser), explorer.one_shot for the VAE and GAN, ``registry.judge`` for
    the judge. So the rule is one line with no list of which ``.network`` is which, and a new demo that writes
    ``registry.get(dataset, "diffusion").network`` fails here as surely as one that writes ``den._network``.
    (The toy tab's 2-D network is its own, trained in the browser session and run by explorer.toy2d.)
    """
    found = _network_reaches(path.read_text(encoding="utf-8"))
    assert not found, f"{path.relative_to(ROOT)} reaches a network past its adapter: {'; '.join(found)}"


@pytest.mark.parametrize("source", [
    "den.network(x)", "den._network", "model.forward(x, t, y)", "m._forward(x, t, y)", "getattr(den, '_network')",
    "from explorer.schedules import predictions_from_output", "from explorer.guidance import weighted_prediction",
    "denoiser.run_network(n)", "from explorer import shared_calls", 'registry.get(d, "diffusion").network',
])
def test_the_network_check_sees_each_way_past_the_adapter(source):
    assert _network_reaches(source)


def test_a_denoiser_keeps_its_network_private():
    """No public attribute of a Denoiser is a network, and there is no public ``forward`` to call one with."""
    import dataclasses

    import torch

    from explorer import denoiser
    from explorer.schedules import make_schedule

    network = torch.nn.Identity()
    den = denoiser.Denoiser(name="toy", dataset="fashion", _network=network, schedule=make_schedule("cosine"),
                            prediction="eps", null_class=10, guidance_interval=None, device=torch.device("cpu"),
                            precision="fp32", config={})
    held = [f.name for f in dataclasses.fields(denoiser.Denoiser) if getattr(den, f.name) is network]
    assert held == ["_network"]
    public = {name: getattr(den, name) for name in dir(den) if not name.startswith("_")}
    assert not [name for name, value in public.items() if isinstance(value, torch.nn.Module)]
    assert "network" not in public and "forward" not in public
