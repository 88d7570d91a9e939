"""explorer.precision: the one decision of fp32 / bf16 per device, with mocked capabilities and timings."""

from __future__ import annotations

import threading
from dataclasses import replace

import pytest
import torch

from explorer import call_threads, denoiser, precision, registry

CPU, CUDA = torch.device("cpu"), torch.device("cuda")


@pytest.fixture(autouse=True)
def fresh(monkeypatch):
    """No cached decision and no override, before and after each test."""
    monkeypatch.delenv(precision.ENV_VAR, raising=False)
    precision.forget_choices()
    yield
    precision.forget_choices()


def _timer(fp32_s, bf16_s):
    """A timer answering ``fp32_s`` / ``bf16_s`` seconds: one number for every batch size, or a function of it."""
    calls = []

    def timer(network, device, bf16, images):
        calls.append((bf16, images))
        answer = bf16_s if bf16 else fp32_s
        return answer(images) if callable(answer) else answer
    return timer, calls


def test_a_cpu_without_bf16_kernels_gets_fp32_without_measuring(monkeypatch):
    monkeypatch.setattr(precision, "cpu_has_bf16_kernels", lambda: False)
    timer, calls = _timer(1.0, 0.1)  # even if bf16 looked faster, it is emulated there
    assert precision.choose(CPU, torch.nn.Identity(), timer) == precision.Choice("fp32")
    assert calls == []


@pytest.mark.parametrize("fp32_s, bf16_s, expected", [(0.030, 0.012, "bf16"), (0.020, 0.019, "fp32"),
                                                      (0.010, 0.200, "fp32")])
def test_a_cpu_with_bf16_kernels_picks_what_it_measured_faster(monkeypatch, fp32_s, bf16_s, expected):
    monkeypatch.setattr(precision, "cpu_has_bf16_kernels", lambda: True)
    timer, calls = _timer(fp32_s, bf16_s)
    assert precision.choose(CPU, torch.nn.Identity(), timer) == precision.Choice(expected)
    assert sorted(calls) == sorted((bf16, n) for bf16 in (False, True) for n in precision.PROBE_BATCHES)


def test_small_batches_run_fp32_where_bf16_only_wins_for_large_ones(monkeypatch):
    monkeypatch.setattr(precision, "cpu_has_bf16_kernels", lambda: True)
    timer, _ = _timer(lambda n: 0.001 * n, lambda n: 0.003 + 0.0005 * n)  # bf16 faster from 7 pictures
    choice = precision.choose(CPU, torch.nn.Identity(), timer)
    assert choice == precision.Choice("bf16", fp32_below=16)  # the smallest probed size (1, 4, 16, 64) it wins at
    assert [choice.for_batch(n) for n in (1, 2, 15, 16, 64, 256)] == ["fp32"] * 3 + ["bf16"] * 3


def test_bf16_must_win_at_every_larger_size_not_only_at_one(monkeypatch):
    monkeypatch.setattr(precision, "cpu_has_bf16_kernels", lambda: True)
    fp32 = {1: 1.0, 4: 1.0, 16: 5.0, 64: 5.0}  # bf16 wins at 1, loses at 4, wins from 16
    timer, _ = _timer(lambda n: fp32[n], lambda n: 2.0)
    assert precision.choose(CPU, torch.nn.Identity(), timer) == precision.Choice("bf16", fp32_below=16)


def test_the_decision_is_measured_once_per_process_and_kind_of_network(monkeypatch):
    monkeypatch.setattr(precision, "cpu_has_bf16_kernels", lambda: True)
    timer, calls = _timer(0.03, 0.01)
    for _ in range(3):
        assert precision.choose(CPU, torch.nn.Linear(2, 2), timer).precision == "bf16"
    assert len(calls) == 2 * len(precision.PROBE_BATCHES)
    precision.choose(CPU, torch.nn.Linear(2, 2), timer)  # another network of the same kind and size
    assert len(calls) == 2 * len(precision.PROBE_BATCHES)
    precision.choose(CPU, torch.nn.Linear(3, 3), timer)  # another size: measured for itself
    assert len(calls) == 4 * len(precision.PROBE_BATCHES)


def test_cuda_follows_its_bf16_support(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    assert precision.choose(CUDA, None) == precision.Choice("bf16")
    precision.forget_choices()
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: False)
    assert precision.choose(CUDA, None) == precision.Choice("fp32")


@pytest.mark.parametrize("value, expected", [("fp32", "fp32"), ("BF16", "bf16"), (" fp32 ", "fp32")])
def test_the_override_wins_without_measuring(monkeypatch, value, expected):
    monkeypatch.setenv(precision.ENV_VAR, value)
    timer, calls = _timer(0.01, 1.0)
    assert precision.choose(CPU, torch.nn.Identity(), timer) == precision.Choice(expected)  # at every batch size
    assert calls == []


@pytest.mark.parametrize("value", ["fp16", "half", "1"])
def test_an_unknown_override_names_the_allowed_values(monkeypatch, value):
    monkeypatch.setenv(precision.ENV_VAR, value)
    with pytest.raises(ValueError, match="auto, fp32, bf16"):
        precision.choose(CPU, torch.nn.Identity())


def test_the_real_measurement_on_the_shipped_network_takes_a_moment_and_decides():
    model = denoiser.get("mnist")
    assert model.precision in ("fp32", "bf16")
    seconds = precision.seconds_per_forward(registry.get("mnist", "diffusion").network, CPU, bf16=False, images=4)
    assert 0 < seconds < 5


def test_the_cpu_capability_is_named():
    name = precision.cpu_capability()
    assert name.split(" ")[0] == torch.backends.cpu.get_cpu_capability() and "bf16" in name


def test_the_page_says_what_this_server_chose(monkeypatch):
    from explorer.ui import common

    model = denoiser.get(common.DEFAULT_DATASET)
    text = common.server_text()
    assert f"({model.precision})" in text and precision.cpu_capability() in text
    assert f"with {call_threads.most()} thread" in text and "chosen at start" in text
    monkeypatch.setenv(precision.ENV_VAR, "fp32")
    assert f"set by {precision.ENV_VAR}" in common.server_text()
    monkeypatch.delenv(precision.ENV_VAR)
    small = replace(model, precision="bf16", fp32_below=4)
    monkeypatch.setattr(denoiser, "get", lambda *a, **k: small)
    assert "(bf16) for 4 or more pictures at once and 32-bit numbers (fp32) for fewer" in common.server_text()
    one_small = replace(model, device=CPU, one_thread_below=16)
    monkeypatch.setattr(denoiser, "get", lambda *a, **k: one_small)
    monkeypatch.setattr(call_threads, "most", lambda: 2)
    assert "with 2 threads for 16 or more pictures at once and 1 thread for fewer" in common.server_text()


def test_each_network_call_runs_in_the_precision_of_its_batch_size(monkeypatch):
    """A Denoiser with fp32_below = 4 runs a call of 2 pictures in fp32 and one of 8 in bf16."""
    used = []
    real = precision.autocast

    here = threading.get_ident()

    def recording(device, chosen):
        if threading.get_ident() == here:  # not a served app's openings, still made in the background
            used.append(chosen)
        return real(device, chosen)
    monkeypatch.setattr(precision, "autocast", recording)
    model = replace(denoiser.get("mnist"), precision="bf16", fp32_below=4)
    for images in (2, 8):
        denoiser.run_network(model._network, torch.zeros(images, 1, 28, 28), torch.full((images,), 500),
                             torch.zeros(images, dtype=torch.long), model.precision, model.fp32_below)
    assert used == ["fp32", "bf16"]
