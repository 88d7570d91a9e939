"""explorer.server.serving: one limit for the whole "model" group whichever event comes first; the ZeroGPU wrapper."""

from __future__ import annotations

import sys
import types

import gradio as gr
import pytest

from explorer.server import serving


def _model_events_with_different_limits() -> gr.Blocks:
    """Two events of the group "model": one without a limit, one with Gradio's default."""
    with gr.Blocks() as demo:
        box = gr.Number()
        box.change(lambda x: x, box, box, concurrency_id=serving.MODEL_GROUP, concurrency_limit=None)
        box.submit(lambda x: x, box, box, concurrency_id=serving.MODEL_GROUP)
    return demo


@pytest.mark.parametrize("order", [(0, 1), (1, 0)])
def test_the_model_group_has_one_limit_whichever_event_comes_first(order):
    demo = _model_events_with_different_limits()
    serving.share_model_limit(demo)
    demo.queue(default_concurrency_limit=serving.LIGHT_CONCURRENCY)
    events = list(demo.fns.values())
    for i in order:  # Gradio makes the group's queue when its first event arrives
        demo._queue.create_event_queue_for_fn(events[i])
        assert demo._queue.event_queue_per_concurrency_id[serving.MODEL_GROUP].concurrency_limit == \
            serving.QUICK_CONCURRENCY


def test_a_model_handler_runs_in_the_flow_of_its_group_and_client_address(monkeypatch):
    """A script's costly runs are charged to its own address at the network, not to the whole group (issue 26)."""
    from explorer.server import gradio_hooks, turns

    seen = []
    with gr.Blocks() as demo:
        box = gr.Number()
        box.change(lambda x: seen.append(turns.current_flow()) or x, box, box, concurrency_id=serving.MODEL_GROUP)
    serving.share_model_limit(demo)
    request = types.SimpleNamespace(headers={}, client=types.SimpleNamespace(host="10.1.2.3"))
    monkeypatch.setattr(gradio_hooks, "current_request", lambda: request)
    next(iter(demo.fns.values())).fn(1)
    assert seen == [f"{serving.MODEL_GROUP} from 10.1.2.3"]


def test_gpu_is_the_function_itself_without_spaces(monkeypatch):
    monkeypatch.setitem(sys.modules, "spaces", None)  # import spaces → ImportError

    def handler():
        yield 1

    assert serving.gpu(handler) is handler


def test_gpu_uses_spaces_gpu_when_importable(monkeypatch):
    wrapped = []
    fake = types.SimpleNamespace(GPU=lambda fn: wrapped.append(fn) or (lambda: "on the GPU"))
    monkeypatch.setitem(sys.modules, "spaces", fake)

    def handler():
        return "here"

    assert serving.gpu(handler)() == "on the GPU" and wrapped == [handler]


class _GrowingSet(set):
    """A set that, like Gradio's set of temporary files under load, grows while it is walked."""

    def __iter__(self):
        for item in super().__iter__():
            self.add(item + ".new")  # Python's set iterator then raises "Set changed size during iteration"
            yield item


def _app_with_files(*file_sets) -> types.SimpleNamespace:
    blocks = types.SimpleNamespace(blocks={}, temp_file_sets=list(file_sets))
    return types.SimpleNamespace(get_blocks=lambda: blocks)


def test_old_temporary_files_are_deleted_and_young_ones_kept(tmp_path):
    old, young = tmp_path / "old.png", tmp_path / "young.png"
    old.write_bytes(b"x")
    young.write_bytes(b"x")
    serving.delete_old_files(_app_with_files({str(old)}), age_s=-1)  # everything counts as old
    serving.delete_old_files(_app_with_files({str(young)}), age_s=3600)
    assert not old.exists() and young.exists()


def test_a_cleaning_round_that_meets_a_growing_set_deletes_every_file(tmp_path):
    paths = [tmp_path / "a.png", tmp_path / "b.png"]
    for path in paths:
        path.write_bytes(b"x")
    names = {str(path) for path in paths}
    serving.delete_old_files(_app_with_files(_GrowingSet(names)), age_s=-1)  # one copy of the set, one walk
    assert not any(path.exists() for path in paths)
