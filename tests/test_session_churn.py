"""Issue 26's attack at a small scale: joins with invented session hashes cannot stop the queue.

Against the app served once for this module on 127.0.0.1. Gradio's store of per-session message queues
is lowered from 2,000 to 12 and the per-address cap to 2, so 30 refused joins (each a new session) do
what ~2,100 did; the model group is paused while the test fills it (as in tests/test_fair_serving.py)
and every loop is bounded.
"""

from __future__ import annotations

import json
import time
import uuid
from contextlib import contextmanager

import httpx
import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError

from explorer.server import fair_share, serving

DEFAULT_RUN = ["fashion", "", "T-shirt/top", 7, "ddim", 3, 2.0, 0.0]  # /generate's inputs, a quick run


@pytest.fixture(scope="module")
def served(served_app):
    demo = served_app
    fns = {d["api_name"]: d["id"] for d in httpx.get(demo.local_url + "config").json()["dependencies"]
           if d.get("api_name")}
    return demo, fns


def _join(served, session: str, data=DEFAULT_RUN) -> str:
    demo, fns = served
    response = httpx.post(demo.local_url + "gradio_api/queue/join",
                          json={"data": data, "fn_index": fns["generate"], "session_hash": session,
                                "event_data": None, "trigger_id": None})
    response.raise_for_status()
    return response.json()["event_id"]


def _completed(served, session: str, timeout: float = 120) -> dict:
    """The first process_completed message of ``session``'s event stream."""
    demo, _ = served
    deadline = time.monotonic() + timeout
    with httpx.stream("GET", demo.local_url + "gradio_api/queue/data", params={"session_hash": session},
                      timeout=timeout) as events:
        for line in events.iter_lines():
            assert time.monotonic() < deadline, f"no finished event within {timeout} s"
            message = json.loads(line[len("data:"):]) if line.startswith("data:") else {}
            assert message.get("msg") != "unexpected_error", message
            if message.get("msg") == "process_completed":
                return message
    raise AssertionError("the stream closed before the event finished")


@contextmanager
def _model_paused(demo):
    """Nothing is taken from the quick model group's queue inside this block."""
    queue = demo._queue
    fn = next(f for f in demo.fns.values() if f.concurrency_id == serving.MODEL_GROUP)
    queue.create_event_queue_for_fn(fn)
    group = queue.event_queue_per_concurrency_id[serving.MODEL_GROUP]
    group.current_concurrency += serving.QUICK_CONCURRENCY  # as if its slots were taken
    try:
        yield group
    finally:
        group.current_concurrency -= serving.QUICK_CONCURRENCY


def _a_student_gets_a_picture(served) -> None:
    demo, _ = served
    result = Client(demo.local_url, verbose=False).predict(steps=3, api_name="/generate")
    assert result and not demo._queue.stopped


def test_refused_joins_with_new_sessions_evict_no_waiting_run_and_the_queue_keeps_serving(served, monkeypatch):
    demo, _ = served
    queue = demo._queue
    monkeypatch.setattr(queue.pending_messages_per_session, "max_size", 12)
    monkeypatch.setattr(fair_share, "MODEL", fair_share.Limits(per_session=3, per_address=2, total=10,
                                                               what="pictures"))
    students = [uuid.uuid4().hex for _ in range(2)]
    with _model_paused(demo):
        runs = {student: _join(served, student) for student in students}  # the address's 2 places
        for _ in range(30):  # a script: a new session per join, each refused at once
            _join(served, uuid.uuid4().hex)
        assert all(student in queue.pending_messages_per_session for student in students)
        assert len(queue.pending_messages_per_session) <= 12
        assert len(queue.pending_event_ids_session) <= 12 + 2  # refused sessions' ids leave with their queues
    for student in students:
        finished = _completed(served, student)
        assert finished["event_id"] == runs[student] and finished["success"]
    _a_student_gets_a_picture(served)


def test_a_refused_join_builds_no_state_for_its_invented_session(served, monkeypatch):
    """Gradio builds a session's state (a copy of every block's config, ~40 ms) the first time a handler is looked
    up for it; admission reads the app's own handlers, so a script's refused joins cost the event loop nothing
    of the kind (before: 37 % of the server's time under the session-churn attack)."""
    demo, _ = served
    monkeypatch.setattr(fair_share, "MODEL", fair_share.Limits(per_session=3, per_address=0, total=10,
                                                               what="pictures"))
    before = len(demo.state_holder.session_data)
    invented = [uuid.uuid4().hex for _ in range(5)]
    for session in invented:
        _join(served, session)  # refused at once: the address has no place
        assert not _completed(served, session)["success"]
    assert not set(invented) & set(demo.state_holder.session_data)
    assert len(demo.state_holder.session_data) == before


def test_a_waiting_run_whose_session_queue_is_gone_does_not_stop_the_queue(served):
    """Gradio's own send_message raised KeyError for such a run when another one started (the worker loop
    broadcasts the waiting times then), and the worker loop stopped: every later join got 503."""
    demo, _ = served
    queue = demo._queue
    first, gone = uuid.uuid4().hex, uuid.uuid4().hex
    with _model_paused(demo):
        _join(served, first)
        _join(served, gone)
        del queue.pending_messages_per_session[gone]
    assert _completed(served, first)["success"]
    _a_student_gets_a_picture(served)


def test_an_address_opening_too_many_new_sessions_gets_a_clear_message(served, monkeypatch):
    demo, _ = served
    opened = len(demo._queue._fair_sessions.opened("127.0.0.1", time.monotonic()))
    monkeypatch.setattr(fair_share, "NEW_SESSIONS_PER_MINUTE", opened + 1)
    session = uuid.uuid4().hex
    _join(served, session)  # the last new session this minute allows
    assert _completed(served, session)["success"]
    with pytest.raises(AppError, match="Too many new browser sessions from your network"):
        Client(demo.local_url, verbose=False).predict(steps=3, api_name="/generate")
    assert _join(served, session)  # a session already open is not new
    assert _completed(served, session)["success"]
