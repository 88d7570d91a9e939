"""explorer.precision: the one decision of fp32 / bf16 per device, with mocked capabilities and timings."""

from __future__ import annotations

import pytest
import torch

from explorer import denoiser, precision, registry

CPU, CUDA = torch.device("cpu"), torch.device("cuda")


@pytest.fixture(autouse=True)
def fresh(monkeypatch):
    """No cached decision and no override, before and after each test."""
    monkeypatch.delenv(precision.ENV_VAR, raising=False)
    precision.forget_choices()
    yield
    precision.forget_choices()


def _timer(fp32_s: float, bf16_s: float):
    calls = []

    def timer(network, device, bf16):
        calls.append(bf16)
        return bf16_s if bf16 else fp32_s
    return timer, calls


def test_a_cpu_without_bf16_kernels_gets_fp32_without_measuring(monkeypatch):
    monkeypatch.setattr(precision, "cpu_has_bf16_kernels", lambda: False)
    timer, calls = _timer(1.0, 0.1)  # even if bf16 looked faster, it is emulated there
    assert precision.choose(CPU, torch.nn.Identity(), timer) == "fp32"
    assert calls == []


@pytest.mark.parametrize("fp32_s, bf16_s, expected", [(0.030, 0.012, "bf16"), (0.020, 0.019, "fp32"),
                                                      (0.010, 0.200, "fp32")])
def test_a_cpu_with_bf16_kernels_picks_what_it_measured_faster(monkeypatch, fp32_s, bf16_s, expected):
    monkeypatch.setattr(precision, "cpu_has_bf16_kernels", lambda: True)
    timer, calls = _timer(fp32_s, bf16_s)
    assert precision.choose(CPU, torch.nn.Identity(), timer) == expected
    assert sorted(calls) == [False, True]


def test_the_decision_is_measured_once_per_process(monkeypatch):
    monkeypatch.setattr(precision, "cpu_has_bf16_kernels", lambda: True)
    timer, calls = _timer(0.03, 0.01)
    for _ in range(3):
        assert precision.choose(CPU, torch.nn.Identity(), timer) == "bf16"
    assert len(calls) == 2


def test_cuda_follows_its_bf16_support(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    assert precision.choose(CUDA, None) == "bf16"
    precision.forget_choices()
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: False)
    assert precision.choose(CUDA, None) == "fp32"


@pytest.mark.parametrize("value, expected", [("fp32", "fp32"), ("BF16", "bf16"), (" fp32 ", "fp32")])
def test_the_override_wins_without_measuring(monkeypatch, value, expected):
    monkeypatch.setenv(precision.ENV_VAR, value)
    timer, calls = _timer(0.01, 1.0)
    assert precision.choose(CPU, torch.nn.Identity(), timer) == expected
    assert calls == []


@pytest.mark.parametrize("value", ["fp16", "half", "1"])
def test_an_unknown_override_names_the_allowed_values(monkeypatch, value):
    monkeypatch.setenv(precision.ENV_VAR, value)
    with pytest.raises(ValueError, match="auto, fp32, bf16"):
        precision.choose(CPU, torch.nn.Identity())


def test_the_real_measurement_on_the_shipped_network_takes_a_moment_and_decides():
    model = denoiser.get("mnist")
    assert model.precision in ("fp32", "bf16")
    seconds = precision._seconds_per_forward(registry.get("mnist", "diffusion").network, CPU, bf16=False)
    assert 0 < seconds < 5


def test_the_cpu_capability_is_named():
    name = precision.cpu_capability()
    assert name.split(" ")[0] == torch.backends.cpu.get_cpu_capability() and "bf16" in name


def test_the_page_says_what_this_server_chose(monkeypatch):
    from explorer.ui import common

    model = denoiser.get(common.DEFAULT_DATASET)
    text = common.server_text()
    assert f"({model.precision})" in text and precision.cpu_capability() in text
    assert f"with {torch.get_num_threads()} threads" in text and "chosen at start" in text
    monkeypatch.setenv(precision.ENV_VAR, "fp32")
    assert f"set by {precision.ENV_VAR}" in common.server_text()
