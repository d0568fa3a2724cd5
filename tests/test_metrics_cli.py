import json
import math
import subprocess
import sys

import numpy as np
import pytest
import torch
from scipy.stats import sem

from hypercon.flow.dis import DISFlow
from hypercon.io.frames import read_frames, read_masks, write_frames, write_mask
from metrics.base import EvalVideo
from metrics.cli import discover_videos, main, parse_options
from metrics.evaluate import evaluate_videos
from metrics.fidelity import Fidelity, GroundTruthPSNRSSIM
from metrics.patch_consistency import PatchConsistencyPSNR, PatchConsistencySSIM
from metrics.reduce import aggregate
from metrics.source_motion import SourceMotionCache
from metrics.warping_error import MaskedWarpingError, WarpingError

NAMES = "ewarp,ewarp_masked,cpsnr,cssim,fidelity,gt"


pytestmark = pytest.mark.usefixtures("one_thread")


def _write_dataset(root, videos=("b_video", "a_video"), t=4, h=60, w=64):
    """Panning textures (source = gt), flickering predictions, a reference, rectangle masks (white = hole)."""
    for k, name in enumerate(videos):
        g = torch.Generator().manual_seed(k)
        big = torch.rand(3, h + 2 * t, w + 3 * t, generator=g)
        big = torch.nn.functional.avg_pool2d(big[None], 3, stride=1, padding=1)[0]  # some texture scale
        gt = torch.stack([big[:, 2 * i : 2 * i + h, 3 * i : 3 * i + w] for i in range(t)])
        pred = (gt + 0.04 * torch.randn(gt.shape, generator=g)).clamp(0, 1)
        ref = (gt + 0.02 * torch.randn(gt.shape, generator=g)).clamp(0, 1)
        write_frames(gt, root / "gt" / name)
        write_frames(pred, root / "pred" / name)
        write_frames(ref, root / "ref" / name)
        for i in range(t):
            known = torch.ones(1, h, w)
            known[:, 20 + i : 35 + i, 25:45] = 0
            write_mask(known, root / "mask" / name / f"{i:05d}.png", polarity="hole")


def _expected(root, name, cache_dir):
    """The same numbers computed directly with the metric classes."""
    pred = read_frames(root / "pred" / name)
    gt = read_frames(root / "gt" / name)
    video = EvalVideo(name=name, output=pred, source=gt, gt=gt, reference=read_frames(root / "ref" / name),
                      known=read_masks(root / "mask" / name, polarity="hole"))
    cache = SourceMotionCache(cache_dir)
    video.source_motion = lambda: cache.get(name, gt, DISFlow(), rule="lai")
    out = {}
    for metric in (WarpingError(), MaskedWarpingError(), Fidelity(), GroundTruthPSNRSSIM()):
        out.update(metric.compute(video))
    return video, out


def test_cli_matches_the_functions(tmp_path, capsys):
    _write_dataset(tmp_path)
    out_json = tmp_path / "results.json"
    results = main(["--pred", str(tmp_path / "pred"), "--source", str(tmp_path / "gt"), "--gt", str(tmp_path / "gt"),
                    "--mask", str(tmp_path / "mask"), "--reference", str(tmp_path / "ref"), "--metrics", NAMES,
                    "--flow", "dis", "--cache", str(tmp_path / "cache"), "--out", str(out_json)])
    printed = capsys.readouterr().out
    assert "a_video" in printed and "mean ± sem" in printed and "ewarp ↓" in printed and "cpsnr ↑" in printed
    saved = json.loads(out_json.read_text())
    assert [r["video"] for r in saved["videos"]] == ["a_video", "b_video"]  # sorted, like VIE
    assert saved["provenance"]["metric_flow"]["name"] == "dis"
    assert saved["metrics"]["ewarp"]["options"]["averaging"] == "vie"
    assert "torch" in saved["provenance"]["packages"]

    cpsnr, cssim = PatchConsistencyPSNR(), PatchConsistencySSIM()  # one generator for the run, video order
    for row in saved["videos"]:
        video, expected = _expected(tmp_path, row["video"], tmp_path / "cache2")
        expected.update(cpsnr.compute(video))
        expected.update(cssim.compute(video))
        assert set(row["metrics"]) == set(expected)
        for key, value in expected.items():
            assert row["metrics"][key] == pytest.approx(value, rel=1e-12, abs=1e-15), key
    for key, agg in saved["aggregate"].items():
        values = [r["metrics"][key] for r in saved["videos"]]
        assert agg["mean"] == pytest.approx(np.mean(values)) and agg["n"] == 2
        assert agg["sem"] == pytest.approx(sem(values))
    assert results["aggregate"].keys() == saved["aggregate"].keys()


def test_cli_single_folder_and_options(tmp_path):
    _write_dataset(tmp_path, videos=("only",), t=3)
    out_json = tmp_path / "r.json"
    main(["--pred", str(tmp_path / "pred" / "only"), "--source", str(tmp_path / "gt" / "only"),
          "--metrics", "ewarp", "--set", "ewarp.averaging=lai", "--set", "ewarp.form=l2", "--out", str(out_json)])
    saved = json.loads(out_json.read_text())
    assert [r["video"] for r in saved["videos"]] == ["only"]
    assert list(saved["videos"][0]["metrics"]) == ["ewarp_lai_l2"]
    assert discover_videos(tmp_path / "pred") == [("only", False)]
    assert parse_options(["cpsnr.seed_per_video=true", "ewarp.occlusion_rule=null", "cssim.data_range=1"]) == {
        "cpsnr": {"seed_per_video": True}, "ewarp": {"occlusion_rule": None}, "cssim": {"data_range": 1}}
    with pytest.raises(ValueError, match="NAME.KEY=VALUE"):
        parse_options(["ewarp=1"])


def test_cli_reports_missing_video_folder(tmp_path):
    _write_dataset(tmp_path, videos=("x",), t=2)
    (tmp_path / "pred" / "y").mkdir()
    write_frames(torch.rand(2, 3, 60, 64), tmp_path / "pred" / "y")
    proc = subprocess.run([sys.executable, "-m", "metrics", "--pred", str(tmp_path / "pred"), "--source",
                           str(tmp_path / "gt"), "--metrics", "fidelity", "--out", str(tmp_path / "o.json")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "no folder for video 'y'" in proc.stderr


def test_aggregate_and_evaluate_videos_unavailable():
    agg = aggregate([1.0, 2.0, None, math.nan, 4.0])
    assert agg["n"] == 3 and agg["mean"] == pytest.approx(7 / 3) and agg["sem"] == pytest.approx(sem([1, 2, 4]))
    assert aggregate([5.0]) == {"mean": 5.0, "sem": None, "n": 1}
    assert aggregate([]) == {"mean": None, "sem": None, "n": 0}
    assert aggregate([10.0, math.inf, 20.0], clip_inf=True)["mean"] == pytest.approx(50 / 3)
    frames = torch.rand(3, 3, 60, 64)
    res = evaluate_videos([EvalVideo(name="v", output=frames, source=frames)], ["fidelity", "cpsnr"],
                          {"cpsnr": {"search": 3}})
    assert "fidelity" in res["unavailable"] and "cpsnr" in res["videos"][0]["metrics"]
    assert res["higher_is_better"]["cpsnr"] is True
    with pytest.raises(ValueError, match="not requested"):
        evaluate_videos([], ["ewarp"], {"cpsnr": {}})
