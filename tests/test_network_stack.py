"""The network stack: several networks of one shape in one call give each row exactly what its own network gives
(row j → network j mod R), and refuse what they cannot run."""

from __future__ import annotations

import pytest
import torch

from explorer import denoiser
from explorer.nets.stack import NetworkStack
from explorer.sampling import SamplingSettings


@pytest.fixture(scope="module")
def networks():
    return [model._network for _, model in denoiser.snapshots()]


def test_each_row_goes_to_its_own_network(networks):
    r = len(networks)
    stack = NetworkStack(networks)
    x, t, y = torch.randn(2 * r, 1, 28, 28), torch.randint(0, 1000, (2 * r,)), torch.randint(0, 11, (2 * r,))
    with torch.inference_mode():
        own = torch.cat([networks[j % r](x[j:j + 1], t[j:j + 1], y[j:j + 1]) for j in range(2 * r)])
        torch.testing.assert_close(stack(x, t, y), own, atol=1e-5, rtol=1e-4)
        assert not torch.allclose(own[1], networks[0](x[1:2], t[1:2], y[1:2])[0])  # the networks do differ


def test_a_stack_refuses_rows_it_cannot_share_out_and_networks_of_other_shapes(networks):
    with pytest.raises(ValueError, match="multiple of"):
        NetworkStack(networks)(torch.randn(3, 1, 28, 28), torch.zeros(3, dtype=torch.long),
                               torch.zeros(3, dtype=torch.long))
    with pytest.raises(ValueError, match="one architecture"):
        NetworkStack([networks[0], denoiser.get("fashion")._network])
    with pytest.raises(ValueError, match="one architecture"):
        NetworkStack([])


def test_the_stacked_snapshots_make_the_pictures_each_snapshot_makes_alone():
    points, stacked = denoiser.snapshot_stack()
    alone = torch.cat([model.images([3], 11, SamplingSettings()) for _, model in denoiser.snapshots()])
    together = stacked.images([3] * len(points), [11] * len(points), SamplingSettings())
    torch.testing.assert_close(together, alone, atol=1e-4, rtol=1e-4)
