import numpy as np
import pytest
import torch

from metrics.occlusion import central_difference_energy, forward_difference_energy, occlusion_mask


def _resample_np(src: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """Independent FlowNet2 Resample2d in numpy: src [H,W,C], flow [H,W,2]; corners clamped."""
    h, w = flow.shape[:2]
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    px, py = xs + flow[..., 0], ys + flow[..., 1]
    x0, y0 = np.floor(px), np.floor(py)
    ax, ay = (px - x0)[..., None], (py - y0)[..., None]
    xl, xr = np.clip(x0, 0, w - 1).astype(int), np.clip(x0 + 1, 0, w - 1).astype(int)
    yt, yb = np.clip(y0, 0, h - 1).astype(int), np.clip(y0 + 1, 0, h - 1).astype(int)
    top = (1 - ax) * src[yt, xl] + ax * src[yt, xr]
    bottom = (1 - ax) * src[yb, xl] + ax * src[yb, xr]
    return (1 - ay) * top + ay * bottom


def _vie_detect_occlusion(fw: np.ndarray, bw: np.ndarray) -> np.ndarray:
    """VIE/LAI ``detect_occlusion(bw, fw)`` re-derived from its description (HWC numpy)."""
    bw_w = _resample_np(bw, fw)
    mag = lambda f: f[..., 0] ** 2 + f[..., 1] ** 2  # noqa: E731
    inconsistent = mag(bw_w + fw) > 0.01 * (mag(bw_w) + mag(fw)) + 0.5
    du = np.zeros_like(fw)
    dv = np.zeros_like(fw)
    du[:, :-1] = fw[:, :-1] - fw[:, 1:]
    dv[:-1] = fw[:-1] - fw[1:]
    boundary = (du**2 + dv**2).sum(-1) > 0.01 * mag(fw) + 0.002
    return inconsistent | boundary


def _to_t(flow_hw2: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(flow_hw2).permute(2, 0, 1)[None].float()


def test_zero_flow_lai_nothing_occluded_ruder_last_row_and_column_unreliable():
    zero = torch.zeros(1, 2, 5, 7)
    assert not occlusion_mask(zero, zero, "lai").any()
    ruder = occlusion_mask(zero, zero, "ruder")[0, 0]
    expected = torch.zeros(5, 7, dtype=torch.bool)
    expected[-1, :] = True  # floor(y) + 1 ≥ H
    expected[:, -1] = True
    assert torch.equal(ruder, expected)


def test_consistency_test_golden_values():
    fw = torch.zeros(1, 2, 6, 6)
    fw[:, 0] = 1.5
    bw = torch.zeros(1, 2, 6, 6)
    bw[:, 0] = -1.5  # exact inverse: consistent
    assert not occlusion_mask(fw, bw, "lai").any()
    bw[:, 0] = -0.5  # |b+f|² = 1 > 0.01·(0.25 + 2.25) + 0.5 = 0.525
    assert occlusion_mask(fw, bw, "lai").all()
    bw[:, 0] = -0.9  # |b+f|² = 0.36 < 0.01·(0.81 + 2.25) + 0.5
    assert not occlusion_mask(fw, bw, "lai").any()


def test_motion_boundary_forward_vs_central_differences():
    h, w = 4, 10
    fw = torch.zeros(1, 2, h, w)
    fw[:, 0, :, 4:] = 1.0  # u steps from 0 to 1 between columns 3 and 4
    bw = torch.zeros(1, 2, h, w)
    bw[:, 0, :, 5:] = -1.0  # b(x + f(x)) = −f(x) everywhere: consistent
    energy = forward_difference_energy(fw)[0, 0]
    assert torch.equal(energy[:, 3], torch.ones(h)) and energy.sum() == h
    lai = occlusion_mask(fw, bw, "lai")[0, 0]
    expected = torch.zeros(h, w, dtype=torch.bool)
    expected[:, 3] = True  # d[3] = u[3] − u[4] = −1 → 1 > 0.002; column 4 has d = 0
    assert torch.equal(lai, expected)

    central = central_difference_energy(fw)[0, 0]
    torch.testing.assert_close(central[:, 3:5], torch.full((h, 2), 0.25))
    ruder = occlusion_mask(fw, bw, "ruder")[0, 0]
    expected = torch.zeros(h, w, dtype=torch.bool)
    expected[:, 3:5] = True  # 0.25 > 0.002 and 0.25 > 0.01·1 + 0.002
    expected[-1, :] = True  # bottom row: floor(y) + 1 ≥ H
    expected[:, w - 2 :] = True  # x + 1 ≥ W − 1 for the last two columns (u = 1)
    assert torch.equal(ruder, expected)


def test_matches_independent_vie_reimplementation_on_random_flows():
    rng = np.random.default_rng(3)
    h, w = 24, 31
    coarse = rng.normal(0, 1.5, size=(4, 5, 2)) + np.array([3.0, -1.0])
    ys, xs = np.linspace(0, 3, h), np.linspace(0, 4, w)
    fw = np.stack([np.array([[np.interp(x, np.arange(5), coarse[int(round(y)), :, c]) for x in xs] for y in ys])
                   for c in range(2)], -1)  # smooth across columns, steps between row bands
    bw = -_resample_np(fw, -fw) + rng.normal(0, 0.6, size=fw.shape)
    fw, bw = fw.astype(np.float32), bw.astype(np.float32)
    ours = occlusion_mask(_to_t(fw), _to_t(bw), "lai")[0, 0].numpy()
    ref = _vie_detect_occlusion(fw.astype(np.float64), bw.astype(np.float64))
    assert 0.05 < ref.mean() < 0.95  # a non-trivial mask
    assert (ours != ref).sum() <= 2  # float32 vs float64 at the thresholds only


def _moving_square(h=20, w=24, top=7, left=6, size=6, step=2):
    """Static background, a square moving right by ``step`` px: exact fw/bw flow of frame t → t+1."""
    fw = torch.zeros(1, 2, h, w)
    fw[:, 0, top : top + size, left : left + size] = step
    bw = torch.zeros(1, 2, h, w)
    bw[:, 0, top : top + size, left + step : left + step + size] = -step
    return fw, bw


@pytest.mark.parametrize("rule", ["lai", "ruder"])
def test_catches_the_occluded_background_in_front_of_a_moving_square(rule):
    top, left, size, step = 7, 6, 6, 2
    fw, bw = _moving_square(top=top, left=left, size=size, step=step)
    occ = occlusion_mask(fw, bw, rule)[0, 0]
    covered = occ[top : top + size, left + size : left + size + step]
    assert covered.all()  # background about to be covered by the square
    interior = occ[top + 1 : top + size - 1, left + 1 : left + size - 2]
    assert not interior.any()  # the square itself is tracked consistently
    far = occ[:-1, : left - 2]  # (ruder also marks the last row: its support leaves the frame)
    assert not far.any()  # static background away from the square
    assert occ.float().mean() < 0.25


def test_rejects_bad_input():
    with pytest.raises(ValueError, match="rule"):
        occlusion_mask(torch.zeros(1, 2, 4, 4), torch.zeros(1, 2, 4, 4), "bogus")
    with pytest.raises(ValueError, match="differ"):
        occlusion_mask(torch.zeros(1, 2, 4, 4), torch.zeros(1, 2, 4, 5))
