"""Shared network calls (explorer.server.shared_calls): rows of requests waiting at one moment ride in one forward."""

from __future__ import annotations

import threading
import time

import torch

from explorer import denoiser, registry
from explorer.denoiser import run_network
from explorer.server import shared_calls, turns


class _Recorder:
    """A stand-in network: out = x · 10 + t + y per row, the batch size of every call kept, each call slow."""

    def __init__(self, seconds: float = 0.02, fail_on_label: int | None = None):
        self.batches: list[int] = []
        self.callers: list[set[int]] = []  # per call: the callers (x's value) whose rows it carried
        self.seconds = seconds
        self.fail_on_label = fail_on_label

    def __call__(self, x, t, y):
        self.batches.append(x.shape[0])
        self.callers.append({int(v) for v in x[:, 0, 0, 0].tolist()})
        if self.fail_on_label is not None and (y == self.fail_on_label).any():
            raise RuntimeError("broken rows")
        time.sleep(self.seconds)
        return x * 10 + t[:, None, None, None] + y[:, None, None, None]


def _rows(i: int, n: int = 2):
    return torch.full((n, 1, 2, 2), float(i)), torch.full((n,), i), torch.arange(n)


def _expected(i: int, n: int = 2):
    x, t, y = _rows(i, n)
    return x * 10 + t[:, None, None, None] + y[:, None, None, None]


def _callers(pool, net, count: int, flow: str = "model", rows: int = 2) -> dict[int, torch.Tensor]:
    results: dict[int, torch.Tensor] = {}

    def call(i: int) -> None:
        with turns.flow(flow):
            results[i] = pool.run(("net",), net, *_rows(i, rows))

    threads = [threading.Thread(target=call, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return results


def test_callers_at_the_same_moment_share_calls_and_each_gets_its_own_rows():
    pool, net = shared_calls.SharedCalls(turns.Turns()), _Recorder()
    results = _callers(pool, net, 12)
    for i in range(12):
        torch.testing.assert_close(results[i], _expected(i), rtol=0, atol=0)
    assert sum(net.batches) == 24  # every row once
    assert len(net.batches) < 12  # fewer forwards than callers: the waiting ones rode together
    assert max(net.batches) > 2


def test_a_shared_call_holds_at_most_max_rows():
    pool, net = shared_calls.SharedCalls(turns.Turns(), max_rows=5), _Recorder()
    results = _callers(pool, net, 10)
    assert max(net.batches) <= 4  # two callers of 2 rows fit in 5; a third does not
    assert sum(net.batches) == 20 and len(results) == 10


def test_a_caller_with_more_rows_than_max_rides_alone():
    pool, net = shared_calls.SharedCalls(turns.Turns(), max_rows=3), _Recorder()
    results = _callers(pool, net, 3, rows=4)
    assert net.batches == [4, 4, 4]
    for i in range(3):
        torch.testing.assert_close(results[i], _expected(i, 4), rtol=0, atol=0)


def test_outside_a_flow_every_call_runs_alone():
    pool, net = shared_calls.SharedCalls(turns.Turns()), _Recorder()
    out = pool.run(("net",), net, *_rows(3))
    torch.testing.assert_close(out, _expected(3), rtol=0, atol=0)
    assert net.batches == [2]


def test_different_networks_and_flows_never_share_a_call():
    pool, flows = shared_calls.SharedCalls(turns.Turns()), []
    nets = {name: _Recorder() for name in ("a", "b")}

    def call(i: int, flow: str, name: str) -> None:
        with turns.flow(flow):
            flows.append((flow, pool.run((name,), nets[name], *_rows(i))))

    threads = [threading.Thread(target=call, args=(i, f"flow{i % 2}", "ab"[i % 3 == 0])) for i in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(flows) == 12
    assert sum(nets["a"].batches) + sum(nets["b"].batches) == 24
    for name, net in nets.items():
        for callers in net.callers:  # one flow (i % 2) and one network (i % 3 == 0 → "b") per call
            assert len({i % 2 for i in callers}) == 1
            assert {"ab"[i % 3 == 0] for i in callers} == {name}


def test_an_error_reaches_every_rider_and_the_pool_keeps_serving():
    pool, net = shared_calls.SharedCalls(turns.Turns()), _Recorder(fail_on_label=1)
    errors = []

    def call() -> None:
        with turns.flow("model"):
            try:
                pool.run(("net",), net, *_rows(0))
            except RuntimeError as error:
                errors.append(str(error))

    threads = [threading.Thread(target=call) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == ["broken rows"] * 4
    net.fail_on_label = None
    with turns.flow("model"):
        torch.testing.assert_close(pool.run(("net",), net, *_rows(5)), _expected(5), rtol=0, atol=0)


def test_riders_of_a_call_do_not_wait_for_a_turn_of_their_own():
    """Eight callers arrive while one 0.2 s call runs: they ride in the next call, and all are back after
    about two calls' time, not nine."""
    pool, net = shared_calls.SharedCalls(turns.Turns()), _Recorder(seconds=0.2)
    began = time.perf_counter()
    first = threading.Thread(target=_callers, args=(pool, net, 1))
    first.start()
    time.sleep(0.05)
    results = _callers(pool, net, 8)
    first.join(30)
    assert len(results) == 8
    assert net.batches == [2, 16]
    assert time.perf_counter() - began < 1.0


def test_pictures_from_shared_calls_match_the_same_rows_alone(callers: int = 6):
    """Shipped network: each caller's rows through shared calls give what they give alone (fp32 and bf16 kernels
    may differ in the last bits between batch sizes)."""
    model = denoiser.get("fashion")
    network = registry.get("fashion", "diffusion").network  # the one model runs
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(callers, 2, 1, 28, 28, generator=gen)
    t = torch.randint(0, 1000, (callers, 2), generator=gen)
    y = torch.randint(0, 11, (callers, 2), generator=gen)
    alone = [run_network(network, x[i], t[i], y[i], model.precision) for i in range(callers)]
    shared: dict[int, torch.Tensor] = {}

    def call(i: int) -> None:
        with turns.flow("shared-test"):
            shared[i] = run_network(network, x[i], t[i], y[i], model.precision)

    threads = [threading.Thread(target=call, args=(i,)) for i in range(callers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    for i in range(callers):
        torch.testing.assert_close(shared[i], alone[i], rtol=0, atol=1e-4)


def _steps_in_lockstep(pool, net, callers: int, steps: int, between_s: float) -> None:
    """``callers`` runs in one flow, each making ``steps`` calls with ``between_s`` of its own work between them."""
    def run(i: int) -> None:
        with turns.flow("model"):
            for _ in range(steps):
                pool.run(("net",), net, *_rows(i, 1))
                time.sleep(between_s)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(callers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)


def test_a_call_waits_a_moment_for_the_callers_just_back_from_the_last_one(monkeypatch):
    # Four runs, each a little work between steps: without the wait, the ones whose rows just came back miss the
    # next call and the calls split; with it, a step's calls carry the runs together.
    monkeypatch.setattr(shared_calls, "LINGER_S", 0.0)
    apart = _Recorder(seconds=0.01)
    _steps_in_lockstep(shared_calls.SharedCalls(turns.Turns()), apart, callers=4, steps=6, between_s=0.002)
    monkeypatch.setattr(shared_calls, "LINGER_S", 0.05)
    together = _Recorder(seconds=0.01)
    _steps_in_lockstep(shared_calls.SharedCalls(turns.Turns()), together, callers=4, steps=6, between_s=0.002)
    assert sum(together.batches) == sum(apart.batches) == 24
    assert len(together.batches) < len(apart.batches)
    assert len(together.batches) <= 6 + 2  # about one call a step


def test_a_caller_alone_never_waits_for_anyone(monkeypatch):
    monkeypatch.setattr(shared_calls, "LINGER_S", 5.0)  # a wait would show
    pool, net = shared_calls.SharedCalls(turns.Turns()), _Recorder(seconds=0.0)
    began = time.perf_counter()
    with turns.flow("model"):
        for i in range(3):
            pool.run(("net",), net, *_rows(i, 1))
    assert time.perf_counter() - began < 2.0
    assert net.batches == [1, 1, 1]


def test_a_caller_whose_place_was_forgotten_while_it_waited_for_its_turn_goes_on():
    pool, net = shared_calls.SharedCalls(turns.Turns()), _Recorder(seconds=0.0)
    with turns.flow("model"):
        pool.run(("net",), net, *_rows(1, 1))
    pool._members.clear()  # as other places' callers forget it after a wait longer than MEMBER_S
    pool._gather(("model", "net"))  # returns at once: no one is expected
    assert net.batches == [1]
