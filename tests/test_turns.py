"""Turns at the network (explorer.server.turns): one call at a time, the flow charged least goes next."""

from __future__ import annotations

import inspect
import itertools
import threading
import time

from explorer.server import turns


def _work(flows: turns.Turns, name: str, calls: int, seconds: float, log: list, started=None) -> None:
    with turns.flow(name):
        for _ in range(calls):
            with flows.turn():
                log.append(name)
                if started is not None:
                    started.set()
                time.sleep(seconds)


def test_a_quick_flow_does_not_wait_for_a_long_one_to_finish():
    """A long flow of 20 ms calls is at work; a quick flow of 1 ms calls arrives: it waits one long call at most."""
    flows, log = turns.Turns(), []
    busy = threading.Event()
    long = threading.Thread(target=_work, args=(flows, "long", 30, 0.02, log, busy))
    long.start()
    busy.wait(10)
    time.sleep(0.1)  # a few long calls charged
    quick = threading.Thread(target=_work, args=(flows, "quick", 10, 0.001, log))
    quick.start()
    quick.join(30)
    long.join(30)
    first_quick = log.index("quick")
    last_quick = len(log) - 1 - log[::-1].index("quick")
    assert log[first_quick:last_quick + 1].count("long") <= 1  # its 10 calls nearly back to back
    assert log[last_quick + 1:].count("long") >= 10  # long before the long flow was done


def test_two_equal_flows_share_the_network_evenly():
    flows, log = turns.Turns(), []
    threads = [threading.Thread(target=_work, args=(flows, name, 20, 0.005, log)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    halfway = log[:20]
    assert 6 <= halfway.count("a") <= 14  # taking turns, not one flow after the other


def test_never_two_calls_at_once():
    flows, inside, most = turns.Turns(), [0], [0]
    lock = threading.Lock()

    def work(name):
        with turns.flow(name):
            for _ in range(20):
                with flows.turn():
                    with lock:
                        inside[0] += 1
                        most[0] = max(most[0], inside[0])
                    time.sleep(0.001)
                    with lock:
                        inside[0] -= 1

    threads = [threading.Thread(target=work, args=(name,)) for name in ("a", "b", "c")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert most[0] == 1


def test_work_outside_any_flow_takes_no_turn():
    flows, holding, done = turns.Turns(), threading.Event(), threading.Event()

    def hold():
        with flows.turn("grid"):
            holding.set()
            done.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    assert holding.wait(10)
    start = time.monotonic()
    with flows.turn() as got:  # no flow here: the command line, a test
        waited = time.monotonic() - start
        grid_still_holds = not done.is_set() and holder.is_alive()
    done.set()
    holder.join(10)
    assert got is True  # the block runs as if it held the turn...
    assert grid_still_holds and waited < 5  # ...beside the flow holding it, not after it (that takes 10 s)


def test_a_flow_back_from_idle_starts_level_with_the_flow_at_work():
    flows = turns.Turns()
    with flows.turn("old"):
        time.sleep(0.05)
    flows._last_call["old"] -= 10 * turns.IDLE_S  # long ago
    with flows.turn("busy"):
        time.sleep(0.01)
    with flows.turn("old"):
        pass
    assert abs(flows.charged("old") - flows.charged("busy")) < 0.02  # its old 50 ms no longer count


def test_in_flow_keeps_a_generator_a_generator_and_its_signature():
    seen = []

    def frames(dataset: str, steps: int = 3):
        for _ in range(steps):
            seen.append(turns._current.get())
            yield dataset

    wrapped = turns.in_flow("model", frames)
    assert inspect.isgeneratorfunction(wrapped)
    assert list(inspect.signature(wrapped).parameters) == ["dataset", "steps"]
    steps = wrapped("fashion", steps=2)
    outside = [turns._current.get()]
    assert list(steps) == ["fashion", "fashion"] and seen == ["model", "model"] and outside == [None]
    assert turns.in_flow("model", lambda: turns._current.get())() == "model"


def test_in_flow_names_the_flow_when_each_step_starts():
    names = (f"model from 10.0.0.{i}" for i in itertools.count(1))
    seen = []

    def frames():
        for _ in range(2):
            seen.append(turns._current.get())
            yield

    list(turns.in_flow(lambda: next(names), frames)())
    assert seen == ["model from 10.0.0.1", "model from 10.0.0.2"]


def test_idle_flows_are_forgotten_past_the_number_kept_and_a_busy_one_is_not(monkeypatch):
    """One flow per client address: the charges of addresses gone quiet must not pile up."""
    flows = turns.Turns()
    monkeypatch.setattr(turns, "FLOWS_KEPT", 3)
    for address in range(3):
        with flows.turn(f"model from 10.0.0.{address}"):
            pass
    monkeypatch.setattr(turns, "IDLE_S", 0.0)
    time.sleep(0.01)
    with flows.turn("model from 10.0.0.9"):
        time.sleep(0.01)
    assert set(flows._charged) == {"model from 10.0.0.9"} and flows.charged("model from 10.0.0.9") > 0


def test_a_background_flow_gets_the_network_only_when_no_one_else_wants_it():
    flows, log = turns.Turns(), []
    busy = threading.Event()

    def background():
        with turns.flow("examples", background=True):
            for _ in range(30):
                with flows.turn():
                    log.append("examples")
                    busy.set()
                    time.sleep(0.005)

    first = threading.Thread(target=background)
    first.start()
    busy.wait(10)
    student = threading.Thread(target=_work, args=(flows, "student", 10, 0.005, log))
    student.start()
    student.join(30)
    first.join(30)
    start = log.index("student")
    assert log[start:start + 11].count("examples") <= 1  # the student's calls one after another
