"""The waiting times pages show for model requests (explorer.server.estimates): learned per settings, seeds ignored."""

from __future__ import annotations

import json
import secrets
import threading
import time
from types import SimpleNamespace
from urllib.parse import urljoin

import httpx
import pytest

from explorer.server import estimates

FN, OTHER = object(), object()


def _event(fn=FN, data=(20, 7), name=None):
    """A stand-in for a Gradio queue event: handler ``fn``, inputs ``data`` (here: steps, seed)."""
    return SimpleNamespace(fn=fn, data=SimpleNamespace(data=list(data)), _id=name or secrets.token_hex(4))


def _ran(expectations, event, seconds, success=True, monkeypatch=None):
    clock = iter([100.0, 100.0 + seconds])
    monkeypatch.setattr(estimates.time, "monotonic", lambda: next(clock))
    expectations.start(event)
    expectations.finish(event, success)


@pytest.fixture
def expectations():
    return estimates.Expectations({FN: {1}})  # FN's input 1 is a seed


def test_nothing_finished_yet_means_no_estimate(expectations):
    assert expectations.expected(_event()) is None


def test_a_request_is_expected_to_take_what_the_same_settings_took_whatever_the_seed(expectations, monkeypatch):
    _ran(expectations, _event(data=(20, 1)), 0.4, monkeypatch=monkeypatch)
    _ran(expectations, _event(data=(100, 2)), 2.0, monkeypatch=monkeypatch)
    assert expectations.expected(_event(data=(20, 99))) == pytest.approx(0.4)
    assert expectations.expected(_event(data=(100, 5))) == pytest.approx(2.0)
    assert expectations.expected(_event(data=(50, 5))) == pytest.approx(1.2)  # new settings, no units: the mean
    assert expectations.expected(_event(fn=OTHER)) is None  # another handler learns apart


def test_new_settings_are_expected_to_cost_their_units_of_work(monkeypatch):
    """A handler that declared its units (here: its steps) scales the time per unit it has seen."""
    expectations = estimates.Expectations({FN: {1}}, {FN: lambda data: data[0]})
    _ran(expectations, _event(data=(20, 1)), 0.4, monkeypatch=monkeypatch)  # 0.02 s per step
    assert expectations.expected(_event(data=(100, 2))) == pytest.approx(2.0)
    assert expectations.expected(_event(data=("many", 2))) == pytest.approx(0.02)  # nonsense: one unit, refused fast


def test_a_tab_declares_units_by_parameter_name(monkeypatch):
    monkeypatch.setattr(estimates, "_declared", {})

    def handler(dataset, steps, seed):
        return None

    estimates.declare_units("run", lambda steps, **rest: steps * 2)
    fn = SimpleNamespace(fn=handler)
    assert estimates._by_name(estimates._declared["run"], fn)(["fashion", 30, 4]) == 60



def test_seeds_are_the_components_declared_with_the_event_not_found_by_label(monkeypatch):
    import gradio as gr

    monkeypatch.setattr(estimates, "_seeds", {})
    with gr.Blocks() as blocks:
        steps, labelled, start = gr.Number(label="Steps"), gr.Number(label="Seed"), gr.Number(label="Static")
        gr.Button().click(lambda a, b, c: a, [steps, labelled, start], steps, api_name="run")
    estimates.declare_units("run", seeds=[start])
    fn = next(fn for fn in blocks.fns.values() if fn.api_name == "run")
    assert estimates._seed_positions(fn) == {2}  # the declared one; a label that says "seed" counts for nothing
    assert "run" not in estimates._declared  # no units declared: every request of it counts as one


def test_every_model_event_of_the_app_declares_its_seeds():
    """The tabs declare the seeds of their model events when they wire them: here, for each, exactly the number
    boxes a student reads as a seed (the check reads labels; the app does not)."""
    import gradio as gr

    from app import build_app
    from explorer.server import serving

    demo = build_app()
    events = [fn for fn in demo.fns.values() if fn.concurrency_id in serving.MODEL_GROUPS]
    for fn in events:
        by_label = {i for i, block in enumerate(fn.inputs)
                    if isinstance(block, gr.Number) and "seed" in str(block.label or "").lower()}
        assert estimates._seed_positions(fn) == by_label, fn.api_name
    declared = {fn.api_name for fn in events if estimates._seed_positions(fn)}
    assert {"generate", "ask_the_network", "guidance_grid", "compare", "interpolate", "odd_ones_out"} <= declared

def test_a_repeated_request_is_expected_to_take_what_repeats_took(expectations, monkeypatch):
    _ran(expectations, _event(data=(20, 1)), 0.5, monkeypatch=monkeypatch)
    assert expectations.expected(_event(data=(20, 1))) == pytest.approx(0.5)  # no repeat seen yet: as fresh
    _ran(expectations, _event(data=(20, 1)), 0.02, monkeypatch=monkeypatch)  # answered from the cache
    assert expectations.expected(_event(data=(20, 1))) == pytest.approx(0.02)
    assert expectations.expected(_event(data=(20, 3))) == pytest.approx(0.5)  # the repeat did not lower fresh ones


def test_failed_requests_teach_nothing(expectations, monkeypatch):
    _ran(expectations, _event(data=(20, 1)), 0.001, success=False, monkeypatch=monkeypatch)
    assert expectations.expected(_event(data=(20, 1))) is None


def test_a_running_request_has_its_expected_rest_left(expectations, monkeypatch):
    _ran(expectations, _event(data=(20, 1)), 1.0, monkeypatch=monkeypatch)
    running = _event(data=(20, 2))
    monkeypatch.setattr(estimates.time, "monotonic", lambda: 50.0)
    expectations.start(running)
    monkeypatch.setattr(estimates.time, "monotonic", lambda: 50.25)
    assert expectations.remaining(running) == pytest.approx(0.75)
    monkeypatch.setattr(estimates.time, "monotonic", lambda: 60.0)
    assert expectations.remaining(running) == 0.0  # overdue: any moment now


# ----------------------------------------------------------------------------- through the running app

def _join_and_listen(url: str, fn_index: int, data: list, heard: list, ready: threading.Event) -> None:
    session = secrets.token_hex(8)
    with httpx.Client(timeout=300) as http:
        http.post(urljoin(url, "gradio_api/queue/join"),
                  json={"data": data, "fn_index": fn_index, "session_hash": session}).raise_for_status()
        ready.set()
        with http.stream("GET", urljoin(url, "gradio_api/queue/data"), params={"session_hash": session}) as stream:
            for line in stream.iter_lines():
                if line.startswith("data:"):
                    message = json.loads(line[len("data:"):])
                    heard.append(message)
                    if message["msg"] == "process_completed":
                        return


def test_the_page_is_told_what_a_request_like_it_took(served_app, client):
    """After an 80-step run and a default run, each new one is promised its own settings' time when it starts
    alone, and a default run that starts beside an 80-step one is promised longer (the two share the network)."""
    from explorer.tools.loadtest import browser_call

    expectations = served_app._queue._expectations
    assert expectations is not None
    url = served_app.local_url
    fn_index, slow = browser_call(client, 11, {"steps": 80, "sampler": "ddpm"})
    _, quick = browser_call(client, 12)
    client.predict(seed=13, steps=80, sampler="ddpm", api_name="/generate")
    client.predict(seed=14, api_name="/generate")
    heard_slow, heard_quick = [], []
    _join_and_listen(url, fn_index, slow, heard_slow, threading.Event())
    _join_and_listen(url, fn_index, quick, heard_quick, threading.Event())
    slow_alone = next(m for m in heard_slow if m["msg"] == "process_starts")["eta"]
    quick_alone = next(m for m in heard_quick if m["msg"] == "process_starts")["eta"]
    assert slow_alone > 2 * quick_alone > 0  # each promised its own settings' time

    _, slow = browser_call(client, 15, {"steps": 80, "sampler": "ddpm"})
    _, quick = browser_call(client, 16)
    heard_slow, heard_quick, ready = [], [], threading.Event()
    first = threading.Thread(target=_join_and_listen, args=(url, fn_index, slow, heard_slow, ready))
    first.start()
    ready.wait(60)
    time.sleep(0.2)
    _join_and_listen(url, fn_index, quick, heard_quick, threading.Event())
    first.join(300)
    beside = next(m for m in heard_quick if m["msg"] == "process_starts")["eta"]
    assert beside >= 1.5 * quick_alone  # two running share the machine


def test_what_it_remembers_is_bounded(expectations, monkeypatch):
    """Typed settings are endless: only the RECENT latest are kept (and runs that never ended are dropped too)."""
    monkeypatch.setattr(estimates, "RECENT", 4)
    for steps in range(10):
        _ran(expectations, _event(data=(steps + 1, steps)), 0.1, monkeypatch=monkeypatch)
        monkeypatch.setattr(estimates.time, "monotonic", lambda: 0.0)
        expectations.start(_event(data=(steps + 1, steps)))  # started, never finished (cancelled)
    assert len(expectations.same_settings) == len(expectations.seen) == len(expectations.started) == 4
    assert expectations.expected(_event(data=(10, 0))) == pytest.approx(0.1)  # the latest are still known


def test_runs_side_by_side_are_each_charged_their_share_of_the_machine(expectations, monkeypatch):
    """A runs 0–3 s, B 1–4 s: for 1–3 s they shared the machine, so each had 2 s of it."""
    a, b = _event(data=(20, 1)), _event(fn=OTHER, data=(20, 2))
    for when, action in [(0.0, lambda: expectations.start(a)), (1.0, lambda: expectations.start(b)),
                         (3.0, lambda: expectations.finish(a, True))]:
        monkeypatch.setattr(estimates.time, "monotonic", lambda when=when: when)
        action()
    assert expectations.crowding() == pytest.approx(1.5)  # B still runs; A had 1.5 runs beside it on average
    assert expectations.expected(_event(data=(20, 9))) == pytest.approx(2.0)
    monkeypatch.setattr(estimates.time, "monotonic", lambda: 4.0)
    expectations.finish(b, True)
    assert expectations.expected(_event(fn=OTHER, data=(20, 9))) == pytest.approx(2.0)


def test_a_run_that_never_ended_stops_counting_after_stale_s(expectations, monkeypatch):
    cancelled, later = _event(data=(20, 1)), _event(data=(20, 2))
    monkeypatch.setattr(estimates.time, "monotonic", lambda: 0.0)
    expectations.start(cancelled)
    _ran(expectations, later, 0.5, monkeypatch=monkeypatch)  # at 100 s: the cancelled one is stale
    assert expectations.expected(_event(data=(20, 3))) == pytest.approx(0.5)


def _burst(expectations, monkeypatch, runs: int = 4, seconds: float = 4.0) -> None:
    """``runs`` default requests side by side from 0 to ``seconds``: each had seconds / runs of the machine."""
    burst = [_event(data=(20, i)) for i in range(runs)]
    monkeypatch.setattr(estimates.time, "monotonic", lambda: 0.0)
    for event in burst:
        expectations.start(event)
    monkeypatch.setattr(estimates.time, "monotonic", lambda: seconds)
    for event in burst:
        expectations.finish(event, True)


def test_a_run_starting_after_a_burst_is_told_it_will_share_the_machine(expectations, monkeypatch):
    """Four runs side by side for 4 s (each had 1 s of the machine): a run starting alone within STALE_S is
    expected to be joined as they were; after STALE_S of quiet, it is expected to run alone."""
    _burst(expectations, monkeypatch)
    assert expectations.expected(_event(data=(20, 9))) == pytest.approx(1.0)
    monkeypatch.setattr(estimates.time, "monotonic", lambda: 10.0)
    assert expectations.crowding() == pytest.approx(4.0)
    monkeypatch.setattr(estimates.time, "monotonic", lambda: 4.0 + estimates.STALE_S + 1)
    assert expectations.crowding() == 1.0


def test_a_waiting_request_is_promised_its_turn_and_the_runs_that_will_share_the_machine_with_it(monkeypatch):
    """Three default requests wait in a group of 8 slots, nothing runs; each run takes 1 s of the machine,
    and recent runs had 4 beside them: each is promised the work ahead of it plus its own × 4."""
    expectations = estimates.Expectations({FN: {1}})
    _burst(expectations, monkeypatch)
    waiting = [SimpleNamespace(**vars(_event(data=(20, 10 + i))), concurrency_id="model", session_hash=f"s{i}")
               for i in range(3)]
    sent = []
    group = SimpleNamespace(concurrency_limit=8, queue=waiting)
    queue = SimpleNamespace(event_queue_per_concurrency_id={"model": group}, active_jobs=[],
                            pending_messages_per_session={"s0": None, "s1": None, "s2": None},
                            send_message=lambda event, message: sent.append(message.rank_eta))
    estimates._estimating_broadcast(queue, None, expectations, ("model",))("model")
    assert sent == pytest.approx([4.0, 5.0, 6.0])
    group.concurrency_limit = 1  # one at a time: nobody beside it
    sent.clear()
    estimates._estimating_broadcast(queue, None, expectations, ("model",))("model")
    assert sent == pytest.approx([1.0, 2.0, 3.0])


def test_a_session_whose_message_queue_is_gone_is_skipped_never_raised_into_the_worker_loop(monkeypatch):
    """Gradio keeps a bounded number of sessions' message queues; a waiting or running event whose queue was
    evicted gets no estimate, no start and no end message, and the others still get theirs."""
    from gradio.server_messages import EstimationMessage, ProcessCompletedMessage, ProcessStartsMessage

    expectations = estimates.Expectations({FN: {1}})
    _burst(expectations, monkeypatch)
    waiting = [SimpleNamespace(**vars(_event(data=(20, 10 + i))), concurrency_id="model", session_hash=f"s{i}")
               for i in range(3)]
    queues = {"s0": [], "s2": []}  # s1's queue is gone: Gradio's own send_message would raise KeyError

    def send(event, message):
        queues[event.session_hash].append(message)

    group = SimpleNamespace(concurrency_limit=8, queue=waiting)
    queue = SimpleNamespace(event_queue_per_concurrency_id={"model": group}, active_jobs=[],
                            pending_messages_per_session=queues, send_message=None)
    queue.send_message = estimates._learning_send(queue, send, expectations, ("model",))
    estimates._estimating_broadcast(queue, None, expectations, ("model",))("model")
    assert [type(m) for m in queues["s0"] + queues["s2"]] == [EstimationMessage] * 2
    queue.send_message(waiting[1], ProcessStartsMessage())
    queue.send_message(waiting[1], ProcessCompletedMessage(output={}, success=True))
    assert "s1" not in queues and len(queues["s0"]) == len(queues["s2"]) == 1
    del queue.event_queue_per_concurrency_id["model"]  # no such group (yet): nothing to tell
    estimates._estimating_broadcast(queue, None, expectations, ("model",))("model")
