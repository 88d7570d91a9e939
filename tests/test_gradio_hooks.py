"""One door into Gradio's internals (explorer/server/gradio_hooks.py): checked against one Gradio version, and no other
module of the app names a private Gradio attribute, module or class-level patch."""

from __future__ import annotations

import re
from pathlib import Path

import gradio as gr
import pytest

from explorer.server import gradio_hooks

ROOT = Path(__file__).resolve().parent.parent
HOOKS = ROOT / "explorer" / "server" / "gradio_hooks.py"
# Gradio's internals the app uses (attributes, modules, patched methods), as they may appear in source text
PRIVATE = [r"\._queue\b", r"event_queue_per_concurrency_id", r"pending_messages_per_session",
           r"pending_event_ids_session", r"pending_message_lock", r"event_ids_to_events", r"\bsend_message\b",
           r"broadcast_estimations", r"active_jobs", r"\bdelete_lock\b", r"\.fns\b", r"route_utils",
           r"gradio\.queueing", r"gradio\.server_messages", r"gradio\.utils", r"gradio\.http_server",
           r"gradio\.context", r"from gradio import [^\n]*\b(queueing|server_messages|utils|http_server|context)\b",
           r"\broot_block\b", r"\.preprocess\s*=[^=]", r"validate_inputs", r"GRADIO_CACHE", r"temp_file_sets",
           r"upload_file_set", r"keep_in_cache", r"accept_blobs", r"blob_storage",
           r"\bgr(adio)?\.[A-Z]\w*\.\w+\s*=[^=]"]  # any class-level patch of a Gradio class


def _app_sources() -> list[Path]:
    """The app's code: app.py and explorer/, less explorer/tools/ (clients of a running app that speak its wire
    protocol, e.g. the drawing editor's ``accept_blobs`` call in tools/attacks.py; the app never imports them)."""
    tools = ROOT / "explorer" / "tools"
    return [ROOT / "app.py", *sorted(p for p in (ROOT / "explorer").rglob("*.py") if tools not in p.parents)]


def test_the_installed_gradio_is_the_one_the_hooks_were_checked_against():
    assert gr.__version__ == gradio_hooks.CHECKED_AGAINST, gradio_hooks.version_problem()


def test_another_gradio_version_is_named_with_the_module_to_check():
    problem = gradio_hooks.version_problem("99.0.0")
    assert "explorer/server/gradio_hooks.py" in problem and gradio_hooks.CHECKED_AGAINST in problem
    assert gradio_hooks.version_problem(gradio_hooks.CHECKED_AGAINST) is None


@pytest.mark.parametrize("path", _app_sources(), ids=lambda p: str(p.relative_to(ROOT)))
def test_only_gradio_hooks_names_gradios_internals(path):
    if path == HOOKS:
        return
    text = path.read_text(encoding="utf-8")
    found = sorted({match.group(0).strip() for pattern in PRIVATE for match in re.finditer(pattern, text)})
    assert not found, (f"{path.relative_to(ROOT)} names Gradio's internals {found}; only "
                       f"explorer/server/gradio_hooks.py may (add a small named function there and call it)")


def test_the_scan_sees_what_it_looks_for():
    text = HOOKS.read_text(encoding="utf-8")
    for pattern in PRIVATE[:-1]:
        if pattern.startswith("from gradio import"):
            continue
        assert re.search(pattern, text), pattern  # every name the scan forbids is one the hooks really use
    assert re.search(PRIVATE[-1], "    gr.Slider.preprocess = fn\n")
    assert not re.search(PRIVATE[-1], "    if gr.Slider.preprocess == fn:\n")


def test_a_sessions_block_configs_are_made_when_needed_and_are_the_same_configs():
    """lazy_session_configs: a new session builds no block config, and what Gradio reads is what it built before."""
    from gradio.state_holder import SessionState

    with gr.Blocks() as demo:
        number = gr.Number(3)
        gr.Slider(0, 10, 4)
        gr.State({"kept": 1})
    eager = SessionState(demo)
    gradio_hooks.lazy_session_configs()
    gradio_hooks.lazy_session_configs()  # once per process: a second call changes nothing
    lazy = SessionState(demo)
    assert dict.__len__(lazy.config_values) == 0  # nothing built when the session starts
    lazy._update_value_in_config(number._id, 7)  # what a handler's update does: that block's config only
    assert dict.__len__(lazy.config_values) == 1 and lazy.config_values[number._id]["props"]["value"] == 7
    eager._update_value_in_config(number._id, 7)
    assert list(lazy.components) == list(eager.components)  # the deep-link route reads them all, in order
