"""Training kit: the temporal loss against NumPy on an exact integer shift; GAN losses, pool and schedule."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from baselines.common.gan import ImagePool, adversarial_loss, linear_decay_factor, linear_decay_schedule
from baselines.common.temporal_loss import soft_visibility, temporal_loss, visibility_from_flows

B, C, H, W, SHIFT = 2, 3, 5, 7, 2


@pytest.fixture
def pair():
    """Frame t and t−1 with flow t→t−1 = +2 px in x: warp(prev)(x) = prev(min(x + 2, W − 1))."""
    gen = torch.Generator().manual_seed(3)
    out_t, out_prev, in_t, in_prev = (torch.rand(B, C, H, W, generator=gen, dtype=torch.float64) for _ in range(4))
    flow = torch.zeros(B, 2, H, W, dtype=torch.float64)
    flow[:, 0] = SHIFT
    visible = (torch.rand(B, 1, H, W, generator=gen, dtype=torch.float64) > 0.3).double()
    return out_t, out_prev, in_t, in_prev, flow, visible


def np_warp(prev: np.ndarray) -> np.ndarray:
    return prev[..., np.minimum(np.arange(W) + SHIFT, W - 1)]  # border clamp


@pytest.mark.parametrize("distance", ["mse", "l1"])
def test_temporal_loss_matches_numpy(pair, distance):
    out_t, out_prev, _, _, flow, visible = pair
    d = out_t.numpy() - np_warp(out_prev.numpy())
    e = d**2 if distance == "mse" else np.abs(d)
    v = np.broadcast_to(visible.numpy(), e.shape)
    expected_visible = (e * v).sum() / v.sum()
    expected_all = (e * v).sum() / e.size
    got_visible = temporal_loss(out_t, out_prev, flow, visible, distance, normalise="visible")
    got_all = temporal_loss(out_t, out_prev, flow, visible, distance, normalise="all")
    assert got_visible.item() == pytest.approx(expected_visible, rel=1e-12)
    assert got_all.item() == pytest.approx(expected_all, rel=1e-12)


def test_soft_visibility_is_lai_formula(pair):
    _, _, in_t, in_prev, flow, _ = pair
    summed = (in_t.numpy() - np_warp(in_prev.numpy())).sum(axis=1, keepdims=True)
    expected = np.exp(-50.0 * summed**2)
    np.testing.assert_allclose(soft_visibility(in_t, in_prev, flow, alpha=50.0).numpy(), expected, rtol=1e-12)
    assert soft_visibility(in_t, in_t, torch.zeros_like(flow)).eq(1).all()


def test_soft_weights_l1_all_equals_lai_masked_l1(pair):
    out_t, out_prev, in_t, in_prev, flow, _ = pair
    soft = soft_visibility(in_t, in_prev, flow)
    warped = torch.from_numpy(np_warp(out_prev.numpy()))
    lai = torch.nn.functional.l1_loss(out_t * soft, warped * soft)  # Lai et al.'s ST loss
    torch.testing.assert_close(temporal_loss(out_t, out_prev, flow, soft, "l1", "all"), lai)


def test_visibility_from_flows_polarity():
    flow_t_to_prev = torch.zeros(1, 2, 8, 8)
    flow_t_to_prev[:, 0] = 1.0
    flow_prev_to_t = -flow_t_to_prev.clone()
    assert visibility_from_flows(flow_t_to_prev, flow_prev_to_t).eq(1).all()  # consistent: all visible
    flow_prev_to_t[..., :, 4:] = 3.0  # inconsistent on the right
    vis = visibility_from_flows(flow_t_to_prev, flow_prev_to_t)
    assert vis.dtype == torch.float32 and vis[..., :, 5:].eq(0).all() and vis[..., :, :2].eq(1).all()


def test_temporal_loss_checks_arguments(pair):
    out_t, out_prev, _, _, flow, visible = pair
    with pytest.raises(ValueError, match="normalise"):
        temporal_loss(out_t, out_prev, flow, visible, normalise="some")
    with pytest.raises(ValueError, match="visibility"):
        temporal_loss(out_t, out_prev, flow, visible[:, 0])


def test_adversarial_losses_closed_forms():
    pred = torch.tensor([[-1.0, 0.0], [0.5, 2.0]])
    assert adversarial_loss(pred, True, "lsgan").item() == pytest.approx(((pred - 1) ** 2).mean().item())
    assert adversarial_loss(pred, False, "lsgan").item() == pytest.approx((pred**2).mean().item())
    sig = 1 / (1 + np.exp(-pred.numpy().astype(np.float64)))
    assert adversarial_loss(pred, True, "bce").item() == pytest.approx(-np.log(sig).mean(), rel=1e-6)
    assert adversarial_loss(pred, False, "bce").item() == pytest.approx(-np.log(1 - sig).mean(), rel=1e-6)
    assert adversarial_loss(torch.zeros(3), True, "bce").item() == pytest.approx(math.log(2))
    with pytest.raises(ValueError, match="mode"):
        adversarial_loss(pred, True, "wgan")


def run_pool(pool: ImagePool, batches: int = 30) -> list[torch.Tensor]:
    return [pool.query(torch.full((2, 1, 2, 2), 100.0 + i)) for i in range(batches)]


def test_image_pool_capacity_and_determinism():
    pool = ImagePool(size=50, seed=1)
    first = pool.query(torch.arange(50.0).view(50, 1, 1, 1).expand(50, 1, 2, 2))  # filling: returned as they are
    assert torch.equal(first[:, 0, 0, 0], torch.arange(50.0)) and len(pool.images) == 50
    outs = run_pool(pool)
    assert len(pool.images) == 50
    returned = torch.cat(outs).flatten()
    assert 0.3 < (returned < 100).double().mean() < 0.7  # about half come from the history
    again = ImagePool(size=50, seed=1)
    again.query(first)
    assert all(torch.equal(a, b) for a, b in zip(outs, run_pool(again)))
    assert torch.equal(ImagePool(size=0).query(first), first)


def test_image_pool_state_round_trip():
    pool = ImagePool(size=4, seed=0)
    run_pool(pool, 5)
    copy = ImagePool(size=4, seed=99)
    copy.load_state_dict(pool.state_dict())
    assert all(torch.equal(a, b) for a, b in zip(run_pool(pool, 10), run_pool(copy, 10)))


def test_linear_decay_schedule_boundaries():
    assert [linear_decay_factor(s, 10, 4) for s in (0, 9, 10, 11, 12, 13, 14, 20)] == \
        [1.0, 1.0, 1.0, 0.75, 0.5, 0.25, 0.0, 0.0]
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.2)
    sched = linear_decay_schedule(opt, constant_steps=2, decay_steps=2)
    lrs = []
    for _ in range(5):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert lrs == pytest.approx([0.2, 0.2, 0.2, 0.1, 0.0])
