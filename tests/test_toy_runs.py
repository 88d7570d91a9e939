"""explorer.ui.toy_runs: one training run per browser; Stop and Start over end a running run at its next chunk and
stop a press that waited for its turn."""

from __future__ import annotations

import threading

import pytest

from explorer.ui import toy_runs


def test_a_second_run_is_refused_while_the_first_makes_progress():
    runs = toy_runs.Runs()
    first = runs.claim(1000.0)
    assert runs.progressed(first) is None
    with pytest.raises(RuntimeError):
        runs.claim(2000.0)
    runs.finish(first)
    assert runs.claim(3000.0) is not None  # a finished run leaves the way free


def test_stop_ends_a_running_run_which_learns_it_at_its_next_chunk():
    runs = toy_runs.Runs()
    run = runs.claim(1000.0)
    assert runs.end(toy_runs.STOP, 2000.0) is True
    assert runs.progressed(run) == toy_runs.STOP
    assert runs.end(toy_runs.STOP, 3000.0) is False  # already ended: nothing runs now


def test_start_over_is_what_the_run_reports():
    runs = toy_runs.Runs()
    run = runs.claim(None)
    assert runs.end(toy_runs.START_OVER, None) is True
    assert runs.progressed(run) == toy_runs.START_OVER


def test_a_press_made_before_the_latest_stop_never_starts():
    runs = toy_runs.Runs()
    assert runs.end(toy_runs.STOP, 5000.0) is False  # nothing ran yet (the press waits for its turn)
    assert runs.claim(4000.0) is None  # pressed at 4000, stopped at 5000
    assert runs.claim(6000.0) is not None  # pressed after the Stop


def test_a_caller_without_a_clock_is_never_held_back_by_an_earlier_stop():
    runs = toy_runs.Runs()
    runs.end(toy_runs.STOP, 5000.0)
    assert runs.claim(None) is not None


def test_a_run_that_made_no_progress_for_a_while_has_lost_its_page(monkeypatch):
    runs = toy_runs.Runs()
    now = [100.0]
    monkeypatch.setattr(toy_runs.time, "monotonic", lambda: now[0])
    runs.claim(1.0)
    now[0] += toy_runs.STALE_S + 1
    assert runs.claim(2.0) is not None  # no waiting: the silent run is not in a chunk


def test_a_new_run_waits_for_an_ended_one_to_let_go_of_the_model():
    runs = toy_runs.Runs()
    earlier = runs.claim(1.0)
    runs.end(toy_runs.STOP, 2.0)
    order = []

    def finish_chunk():
        order.append("earlier finished")
        runs.finish(earlier)

    timer = threading.Timer(0.2, finish_chunk)
    timer.start()
    runs.claim(3.0)
    order.append("new run claimed")
    timer.join()
    assert order == ["earlier finished", "new run claimed"]
