"""The one guidance formula, batching of both branches, and the guidance interval rule."""

import pytest
import torch

from explorer.guidance import check_guidance, guide, make_model_fn
from explorer.schedules import make_schedule


class RecordingNet(torch.nn.Module):
    """Output depends on the class so the branches differ; records the classes of every call."""

    def __init__(self):
        super().__init__()
        self.calls = []

    def forward(self, x, t, y):
        self.calls.append(y.tolist())
        return x * 0.5 + y.view(-1, 1, 1, 1).float() * 0.1


def _fn(net, scale, interval=None, labels=(2, 5)):
    return make_model_fn(net, make_schedule("cosine"), "eps", torch.tensor(labels), scale,
                         null_class=10, interval=interval)


def test_formula():
    u, c = torch.tensor([1.0]), torch.tensor([3.0])
    assert guide(u, c, 0.0).item() == 1.0
    assert guide(u, c, 1.0).item() == 3.0
    assert guide(u, c, 2.0).item() == 5.0


def test_both_branches_in_one_call_and_the_formula_applied():
    net = RecordingNet()
    x = torch.randn(2, 1, 4, 4)
    pred = _fn(net, 3.0)(x, 500)
    assert net.calls == [[2, 5, 10, 10]]
    torch.testing.assert_close(pred.eps, guide(pred.eps_uncond, pred.eps_cond, 3.0))


@pytest.mark.parametrize("scale, expected_classes", [(0.0, [10, 10]), (1.0, [2, 5])])
def test_scales_zero_and_one_need_one_branch(scale, expected_classes):
    net = RecordingNet()
    _fn(net, scale)(torch.randn(2, 1, 4, 4), 500)
    assert net.calls == [expected_classes]


def test_interval_rule():
    net = RecordingNet()
    fn = _fn(net, 3.0, interval=(0, 700))
    fn(torch.randn(2, 1, 4, 4), 900)  # outside: min(3, 1) = 1 → conditional alone
    fn(torch.randn(2, 1, 4, 4), 600)  # inside: both branches
    assert net.calls == [[2, 5], [2, 5, 10, 10]]
    net.calls.clear()
    _fn(net, 0.0, interval=(0, 700))(torch.randn(2, 1, 4, 4), 900)  # s = 0 stays unconditional
    assert net.calls == [[10, 10]]


def test_per_image_scales():
    net = RecordingNet()
    x = torch.randn(2, 1, 4, 4)
    pred = _fn(net, torch.tensor([0.0, 4.0]))(x, 500)
    torch.testing.assert_close(pred.eps[0], pred.eps_uncond[0])
    torch.testing.assert_close(pred.eps[1], guide(pred.eps_uncond[1], pred.eps_cond[1], 4.0))


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -1e9, 21, "abc", None])
def test_bad_scales(bad):
    with pytest.raises(ValueError, match="Guidance"):
        check_guidance(bad)
