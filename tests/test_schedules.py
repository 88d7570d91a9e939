"""Schedule invariants, golden values, and the forward process."""

import math

import pytest
import torch

from explorer.schedules import make_schedule, predictions_from_output, q_sample, q_step, training_target


@pytest.mark.parametrize("name", ["linear", "cosine"])
def test_schedule_invariants(name):
    s = make_schedule(name)
    assert s.num_timesteps == 1000
    assert torch.all(s.betas > 0) and torch.all(s.betas < 1)
    ab = s.alpha_bar
    assert torch.all(ab[1:] < ab[:-1]), "signal must strictly decrease"
    assert ab[0] > 0.999 and ab[-1] < 1e-4
    torch.testing.assert_close(s.log_snr(), torch.log(ab / (1 - ab)))
    assert torch.all(s.log_snr()[1:] < s.log_snr()[:-1])


def test_golden_values():
    linear, cosine = make_schedule("linear"), make_schedule("cosine")
    assert float(linear.betas[0]) == pytest.approx(1e-4)
    assert float(linear.betas[-1]) == pytest.approx(0.02)
    expected_linear = [0.9999, 0.5240853738, 0.0785872429, 0.00335055044, 4.03582977e-05]
    expected_cosine = [0.9999587158, 0.8470121613, 0.4938435904, 0.1442721024, 2.42876691e-09]
    for i, (el, ec) in enumerate(zip(expected_linear, expected_cosine)):
        t = (0, 249, 499, 749, 999)[i]
        assert float(linear.alpha_bar[t]) == pytest.approx(el, rel=1e-7)
        assert float(cosine.alpha_bar[t]) == pytest.approx(ec, rel=1e-6)


def test_cosine_follows_its_formula():
    s = make_schedule("cosine")
    f = lambda t: math.cos((t / 1000 + 0.008) / 1.008 * math.pi / 2) ** 2  # noqa: E731
    for t in (0, 100, 500, 900):
        assert float(s.alpha_bar[t]) == pytest.approx(f(t + 1) / f(0), rel=1e-9)


def test_unknown_schedule():
    with pytest.raises(ValueError, match="Known schedules"):
        make_schedule("sigmoid")


def test_q_sample_is_the_closed_form():
    s = make_schedule("linear")
    x0 = torch.full((2, 1, 4, 4), 0.5, dtype=torch.float64)
    noise = torch.ones_like(x0)
    t = torch.tensor([0, 999])
    out = q_sample(s, x0, t, noise)
    for i, ti in enumerate(t.tolist()):
        ab = float(s.alpha_bar[ti])
        torch.testing.assert_close(out[i], torch.full_like(out[i], math.sqrt(ab) * 0.5 + math.sqrt(1 - ab)))


def test_many_small_steps_match_the_jump_in_distribution():
    s = make_schedule("cosine")
    x0 = torch.zeros(20000, 1, 1, 1, dtype=torch.float64) + 0.7
    gen = torch.Generator().manual_seed(0)
    x = x0
    for t in range(300):
        x = q_step(s, x, t, torch.randn(x.shape, generator=gen, dtype=x.dtype))
    ab = float(s.alpha_bar[299])
    assert float(x.mean()) == pytest.approx(math.sqrt(ab) * 0.7, abs=0.02)
    assert float(x.std()) == pytest.approx(math.sqrt(1 - ab), abs=0.02)


@pytest.mark.parametrize("prediction", ["eps", "v", "x0"])
def test_parametrisations_round_trip(prediction):
    s = make_schedule("cosine")
    gen = torch.Generator().manual_seed(1)
    x0 = torch.rand(4, 1, 5, 5, generator=gen, dtype=torch.float64) * 2 - 1
    noise = torch.randn(4, 1, 5, 5, generator=gen, dtype=torch.float64)
    t = torch.tensor([3, 200, 600, 990])
    x_t = q_sample(s, x0, t, noise)
    target = training_target(s, x0, t, noise, prediction)
    x0_hat, eps_hat = predictions_from_output(s, x_t, t, target, prediction)
    torch.testing.assert_close(x0_hat, x0, rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(eps_hat, noise, rtol=1e-6, atol=1e-6)
