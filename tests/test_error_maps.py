"""``save_error_maps=true``: the runner saves E_warp's own per-pixel terms, and their mean over the kept
pixels is the E_warp of ``metrics.json`` (per pair: masked mean; per video: nanmean over pairs, VIE)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from hydra import compose, initialize_config_dir

import experiments.hydra_setup  # noqa: F401
from experiments.runner import run
from experiments.store import RunStore
from hypercon.errors import SettingError
from metrics.warping_error import reduce_pairs, warping_error

REPO = Path(__file__).resolve().parents[1]
TINY = ["dataset.num_videos=2", "dataset.num_frames=5", "dataset.height=40", "dataset.width=56",
        "metrics.names=[ewarp]", "save_video=false", "method=framewise"]


def cfg_for(tmp_path: Path, *overrides: str):
    with initialize_config_dir(config_dir=str(REPO / "conf"), version_base="1.3"):
        return compose(config_name="config", overrides=[*TINY, f"paths.output_root={tmp_path}", *overrides])


def test_maps_are_the_terms_the_per_pair_value_averages():
    """Float32 maps from the metric's own function: mean over kept pixels = the per-pair value (l2: 3×)."""
    gen = torch.Generator().manual_seed(0)
    out = torch.rand(4, 3, 12, 16, generator=gen)
    flow = torch.rand(3, 2, 12, 16, generator=gen) * 2 - 1
    occluded = torch.rand(3, 1, 12, 16, generator=gen) > 0.7
    for form in ("mean", "l2"):  # l2: per pixel over channels, 3× the mean form
        maps: list = []
        per_pair = warping_error(out, flow, occluded, form=form, maps=maps)
        error, keep = torch.cat([m for m, _ in maps]), torch.cat([k for _, k in maps])
        assert not error[~keep].any()
        means = error.double().sum(dim=(1, 2)) / keep.sum(dim=(1, 2))
        torch.testing.assert_close(means, per_pair, rtol=1e-6, atol=0)
        assert torch.equal(keep, ~occluded[:, 0])


def test_saved_maps_agree_with_metrics_json(tmp_path):
    out = tmp_path / "run"
    results = run(cfg_for(tmp_path, "save_error_maps=true"), out)
    store = RunStore(out)
    for row in results["videos"]:
        record = store.load_record(row["video"])
        saved = store.load_error_maps(row["video"])
        error, keep = saved["error"].astype(np.float64), saved["keep"]
        assert saved["error"].dtype == np.float16 and error.shape == (4, 40, 56) and keep.dtype == bool
        per_pair = error.sum(axis=(1, 2)) / keep.sum(axis=(1, 2))  # mean over masked pixels, per pair
        assert record["per_frame"]["ewarp"] == pytest.approx(saved["per_pair"].tolist(), rel=1e-12)
        assert per_pair == pytest.approx(saved["per_pair"], rel=2e-3)
        assert float(np.nanmean(per_pair)) == pytest.approx(record["metrics"]["ewarp"], rel=1e-3)
        per_frame = torch.tensor(record["per_frame"]["ewarp"], dtype=torch.float64)
        assert reduce_pairs(per_frame) == pytest.approx(record["metrics"]["ewarp"], rel=1e-12)


def test_maps_off_by_default_and_need_ewarp(tmp_path):
    results = run(cfg_for(tmp_path), tmp_path / "off")
    name = results["videos"][0]["video"]
    assert not RunStore(tmp_path / "off").error_maps_path(name).exists()
    assert "per_frame" in results["videos"][0] and not math.isnan(results["videos"][0]["metrics"]["ewarp"])
    with pytest.raises(SettingError, match="save_error_maps"):
        run(cfg_for(tmp_path, "save_error_maps=true", "metrics.names=[fidelity]"), tmp_path / "no_ewarp")
