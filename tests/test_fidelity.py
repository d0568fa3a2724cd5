import math

import numpy as np
import pytest
import torch
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from metrics.base import EvalVideo, MetricUnavailable
from metrics.fidelity import Fidelity, GroundTruthPSNRSSIM, psnr_frames
from metrics.ssim import ssim_frames


def _hwc(x: torch.Tensor) -> np.ndarray:
    return x.permute(1, 2, 0).numpy().astype(np.float32)


def _frames(t=3, h=23, w=31, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(t, 3, h, w, generator=g) * 255).round() / 255


@pytest.mark.parametrize("data_range", [1.0, 2.0])
def test_psnr_and_ssim_match_skimage_on_odd_sizes(data_range):
    x = _frames()
    y = (x + 0.05 * torch.randn(x.shape, generator=torch.Generator().manual_seed(1))).clamp(0, 1)
    y[1, :, :8] = x[1, :, :8]  # partly identical
    ours_psnr = psnr_frames(x, y).numpy()
    ours_ssim = ssim_frames(x, y, data_range=data_range).numpy()
    for i in range(x.shape[0]):
        ref_psnr = peak_signal_noise_ratio(_hwc(x[i]), _hwc(y[i]), data_range=1.0)
        ref_ssim = structural_similarity(_hwc(x[i]), _hwc(y[i]), channel_axis=-1, data_range=data_range)
        assert ours_psnr[i] == pytest.approx(ref_psnr, abs=1e-6)
        assert ours_ssim[i] == pytest.approx(ref_ssim, abs=1e-5)


def test_identical_frames_give_inf_psnr_and_unit_ssim():
    x = _frames(t=1)
    assert psnr_frames(x, x).item() == math.inf
    assert ssim_frames(x, x).item() == pytest.approx(1.0, abs=1e-6)


def test_fidelity_against_reference():
    out = _frames(seed=2)
    ref = (out + 0.1).clamp(0, 1)
    ref[0] = out[0]  # one identical frame: +inf PSNR, clipped per video
    video = EvalVideo(name="v", output=out, source=out, reference=ref)
    res = Fidelity().compute(video)
    finite = [peak_signal_noise_ratio(_hwc(ref[i]), _hwc(out[i]), data_range=1.0) for i in (1, 2)]
    assert res["fidelity_psnr"] == pytest.approx((max(finite) + sum(finite)) / 3, abs=1e-6)
    ssim = [structural_similarity(_hwc(ref[i]), _hwc(out[i]), channel_axis=-1, data_range=1.0) for i in range(3)]
    assert res["fidelity_ssim"] == pytest.approx(np.mean(ssim), abs=1e-5)
    assert Fidelity(inf_policy="keep").compute(video)["fidelity_psnr"] == math.inf
    with pytest.raises(MetricUnavailable, match="reference"):
        Fidelity().compute(EvalVideo(name="v", output=out, source=out))


def test_ground_truth_metric_composites_and_uses_vie_ssim_range():
    gt = _frames(seed=3)
    pred = _frames(seed=4)
    known = torch.ones(3, 1, 23, 31)
    known[:, :, 5:15, 10:20] = 0  # hole
    video = EvalVideo(name="v", output=pred, source=gt, gt=gt, known=known)
    res = GroundTruthPSNRSSIM().compute(video)
    comp = known * gt + (1 - known) * pred
    psnr = [peak_signal_noise_ratio(_hwc(gt[i]), _hwc(comp[i]), data_range=1.0) for i in range(3)]
    ssim2 = [structural_similarity(_hwc(gt[i]), _hwc(comp[i]), channel_axis=-1, data_range=2.0) for i in range(3)]
    assert res["psnr"] == pytest.approx(np.mean(psnr), abs=1e-6)
    assert res["ssim"] == pytest.approx(np.mean(ssim2), abs=1e-5)
    ssim1 = GroundTruthPSNRSSIM(ssim_data_range=1.0).compute(video)["ssim"]
    assert ssim1 < res["ssim"]  # data range 2 inflates SSIM (smaller constants relative to the range)
    with pytest.raises(MetricUnavailable, match="ground truth"):
        GroundTruthPSNRSSIM().compute(EvalVideo(name="v", output=pred, source=gt))
