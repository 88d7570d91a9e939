"""explorer.serving: one limit for the whole "model" group whichever event comes first, and the ZeroGPU wrapper."""

from __future__ import annotations

import sys
import types

import gradio as gr
import pytest

from explorer import serving


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
            serving.MODEL_CONCURRENCY


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
