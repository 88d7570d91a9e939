"""The running places a model group keeps for newcomers (explorer.server.fair_share.slots_for) and the door that
makes Gradio's worker loop obey them (explorer.server.gradio_hooks.rule_group_limit)."""

from __future__ import annotations

import types

import gradio as gr
import pytest

from explorer.server import fair_share, gradio_hooks


@pytest.mark.parametrize("running, expected", [([], 10), (["10.0.0.9"], 10), (["10.0.0.1"], 8),
                                               (["10.0.0.1"] * 8, 8)])
def test_an_address_with_a_run_going_cannot_take_the_last_places(running, expected):
    assert fair_share.slots_for(10, "10.0.0.1", running, reserved=2) == expected


@pytest.mark.parametrize("settled_newcomer, expected", [(False, 8), (True, 9)])
def test_a_settled_browser_with_nothing_running_may_take_the_next_to_last_place(settled_newcomer, expected):
    running = ["10.0.0.1"] * 8  # its address (a school, or a script behind it) has its own 8 places busy
    assert fair_share.slots_for(10, "10.0.0.1", running, reserved=2, settled_newcomer=settled_newcomer) == expected


def test_a_group_smaller_than_its_reserve_still_runs_one():
    assert fair_share.slots_for(1, "10.0.0.1", ["10.0.0.1"], reserved=2) == 1


def _queue_with_one_waiting_event():
    """A queued app with one event of group "model" waiting in its line (as Gradio's push leaves it)."""
    from gradio.queueing import Event

    with gr.Blocks() as demo:
        box = gr.Number()
        box.change(lambda x: x, box, box, concurrency_id="model", concurrency_limit=4)
    demo.queue()
    queue = demo._queue
    fn = next(iter(demo.fns.values()))
    queue.create_event_queue_for_fn(fn)
    request = types.SimpleNamespace(headers={}, client=types.SimpleNamespace(host="10.0.0.1"))
    queue.event_queue_per_concurrency_id["model"].queue.append(Event("s", fn, request, None))
    return queue


@pytest.mark.parametrize("allowed, starts", [(3, False), (4, True)])
def test_gradios_worker_loop_starts_an_event_only_within_the_ruled_limit(allowed, starts):
    queue = _queue_with_one_waiting_event()
    group = queue.event_queue_per_concurrency_id["model"]
    group.current_concurrency = 3
    seen = []
    gradio_hooks.rule_group_limit(queue, "model", lambda limit, line: seen.append((limit, line[0])) or (0, allowed))
    assert (queue.get_events() is not None) == starts
    assert seen and seen[0][0] == 4 and seen[0][1].session_hash == "s"
    assert gradio_hooks.group_slots(queue, "model") == 4  # the group's own limit, for waiting times


def test_a_failing_rule_leaves_the_groups_own_limit():
    queue = _queue_with_one_waiting_event()
    gradio_hooks.rule_group_limit(queue, "model", lambda limit, line: 1 / 0)
    assert queue.event_queue_per_concurrency_id["model"].concurrency_limit == 4


def test_gradio_can_still_lower_the_limit_of_a_ruled_group():
    queue = _queue_with_one_waiting_event()
    gradio_hooks.rule_group_limit(queue, "model", lambda limit, line: (0, limit))
    group = queue.event_queue_per_concurrency_id["model"]
    group.concurrency_limit = 2  # what create_event_queue_for_fn does for an event with a smaller limit
    assert group.concurrency_limit == 2 and gradio_hooks.group_slots(queue, "model") == 2


def _event(session: str, address: str = "10.0.0.1"):
    return types.SimpleNamespace(session_hash=session, concurrency_id="model",
                                 request=types.SimpleNamespace(headers={}, client=types.SimpleNamespace(host=address)))


@pytest.mark.parametrize("first, expected", [("classmate", 9), ("script-new", 8), ("script-0", 8)])
def test_the_rule_gives_the_next_to_last_place_only_to_a_settled_browser_with_nothing_running(first, expected):
    import time

    sessions = fair_share.Sessions()
    now = time.monotonic()
    sessions.open("classmate", "10.0.0.1", now - 2 * fair_share.SETTLED_S)  # the page has been open a while
    sessions.open("script-0", "10.0.0.1", now - 2 * fair_share.SETTLED_S)  # settled, but already running
    sessions.open("script-new", "10.0.0.1", now)  # a session invented a moment ago
    running = [_event("script-0")] + [_event(f"script-{i}") for i in range(1, 8)]
    queue = types.SimpleNamespace(active_jobs=[[event] for event in running])
    rule = fair_share._slot_rule(queue, "model", sessions)
    assert rule(10, [_event(first)]) == (0, expected)


def test_an_event_held_back_does_not_hold_back_a_classmate_or_a_newcomer_behind_it():
    running = [(f"script-{i}", "10.0.0.1") for i in range(8)]  # the script's address has its 8 places busy
    script, classmate = ("script-new", "10.0.0.1", False), ("classmate", "10.0.0.1", True)
    newcomer = ("student", "10.0.0.2", False)  # another address, nothing running
    assert fair_share.next_to_start(10, [script, script, classmate], running) == (2, 9)
    assert fair_share.next_to_start(10, [script, newcomer, classmate], running) == (1, 10)
    assert fair_share.next_to_start(10, [script, script], running) == (0, 8)  # nobody may start: the first waits
    full = running + [("classmate", "10.0.0.1"), ("student", "10.0.0.2")]
    assert fair_share.next_to_start(10, [script, classmate, newcomer], full) == (0, 8)  # all ten busy: the first waits


def test_gradios_worker_loop_starts_the_event_the_rule_chose_and_keeps_the_rest_in_order():
    queue = _queue_with_one_waiting_event()
    group = queue.event_queue_per_concurrency_id["model"]
    from gradio.queueing import Event

    fn = group.queue[0].fn
    group.queue += [Event(name, fn, group.queue[0].request, None) for name in ("t", "u")]
    group.current_concurrency = 3
    gradio_hooks.rule_group_limit(queue, "model", lambda limit, line: (
        next(i for i, e in enumerate(line) if e.session_hash == "t"), 4))
    events, _, _ = queue.get_events()
    assert [e.session_hash for e in events] == ["t"] and [e.session_hash for e in group.queue] == ["s", "u"]


def test_the_rule_is_asked_again_only_when_the_line_or_the_running_count_changes(monkeypatch):
    """Gradio's loop reads the limit every millisecond while a line waits; the rule's scan must not run each time."""
    queue = _queue_with_one_waiting_event()
    group = queue.event_queue_per_concurrency_id["model"]
    group.current_concurrency = 4
    asked = []
    gradio_hooks.rule_group_limit(queue, "model", lambda limit, line: asked.append(len(line)) or (0, 4))
    for _ in range(100):
        assert queue.get_events() is None  # all four places busy
    assert len(asked) == 1
    group.current_concurrency = 3  # a run ended
    assert queue.get_events() is not None and len(asked) == 2
