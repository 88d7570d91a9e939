"""explorer.server.openings: the openings are made one after another in the background; a stopping server finishes
the one being made and starts no other (so a stop takes seconds, not the rest of the openings)."""

from __future__ import annotations

import threading

import pytest

from explorer.server import openings


@pytest.fixture
def no_openings(monkeypatch):
    monkeypatch.setattr(openings, "_pending", [])
    monkeypatch.setattr(openings, "_worker", None)
    monkeypatch.setattr(openings, "_stopping", False)


def test_the_openings_are_made_in_the_background_in_order(no_openings):
    made = []
    first, second = (openings.Opening(lambda name=name: made.append(name) or (name,)) for name in ("a", "b"))
    openings._pending.extend([first, second])
    openings.start()
    assert second.get() == ("b",) and first.get() == ("a",)
    assert made == ["a", "b"]


def test_a_stopping_server_finishes_the_opening_being_made_and_makes_no_other(no_openings):
    started, release = threading.Event(), threading.Event()

    def slow() -> tuple:
        started.set()
        release.wait(10)
        return ("first",)

    first, second = openings.Opening(slow), openings.Opening(lambda: ("second",))
    openings._pending.extend([first, second])
    openings.start()
    assert started.wait(10)
    stopper = threading.Thread(target=openings.stop)
    stopper.start()
    stopper.join(0.2)
    assert stopper.is_alive()  # it waits for the picture being made ...
    release.set()
    stopper.join(10)
    assert not stopper.is_alive() and first.get() == ("first",)
    assert not second._ready.is_set()  # ... and makes no other
