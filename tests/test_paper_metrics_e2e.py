"""The paper-tier metrics inside ``python run.py`` and ``python -m metrics``, on random-weight stand-ins
registered in a test manifest with their own sha256 (no real weights exist on this machine)."""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import pytest
import torch
import torchvision
from hydra import compose, initialize_config_dir

import experiments.hydra_setup  # noqa: F401
import hypercon.weights.registry as reg
from experiments.runner import run
from experiments.store import read_json
from metrics import i3d as i3d_mod
from metrics.fid import fid_inception_skeleton
from metrics.i3d import InceptionI3d

REPO = Path(__file__).resolve().parents[1]
PAPER_METRICS = ["lpips", "vlpips", "fid", "vfid"]


def _save(state: dict, path: Path) -> str:
    torch.save(state, path)
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def standins(tmp_path_factory):
    """FID-Inception, AlexNet trunk and I3D with seeded random weights in one weights folder."""
    folder = tmp_path_factory.mktemp("weights")
    torch.manual_seed(5)
    entries = {
        "fid_inception": ("pt_inception-standin.pth", fid_inception_skeleton().state_dict()),
        "lpips_alex_trunk": ("alexnet-standin.pth", {k: v for k, v in torchvision.models.alexnet(
            weights=None).state_dict().items() if k.startswith("features.")}),
        "i3d_rgb_imagenet": ("rgb_imagenet-standin.pt", InceptionI3d().state_dict()),
    }
    manifest = {name: {"file": file, "sha256": _save(state, folder / file)} for name, (file, state) in entries.items()}
    (folder / "manifest.json").write_text(json.dumps({"entries": manifest}))
    i3d_mod._CACHE.clear()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(reg, "hub_checkpoints_dir", lambda: folder / "hub")
        mp.setenv("HYPERCON_WEIGHTS_MANIFEST", str(folder / "manifest.json"))
        yield folder, manifest
    i3d_mod._CACHE.clear()


def _cfg(tmp_path: Path, weights: Path, *overrides: str):
    with initialize_config_dir(config_dir=str(REPO / "conf"), version_base="1.3"):
        return compose(config_name="config", overrides=[
            "task=inpaint", "method=framewise", "dataset.num_videos=2", "dataset.num_frames=4",
            "dataset.height=64", "dataset.width=96", "save_video=false", f"paths.output_root={tmp_path}",
            f"paths.weights_dir={weights}", f"metrics.names=[{','.join(PAPER_METRICS)}]", *overrides])


def test_paper_metrics_run_end_to_end_and_record_their_weights(standins, tmp_path):
    folder, manifest = standins
    results = run(_cfg(tmp_path, folder), tmp_path / "run")
    assert results["complete"] and not results["unavailable"]
    for key in ("lpips", "vlpips"):
        assert results["aggregate"][key]["n"] == 2 and math.isfinite(results["aggregate"][key]["mean"])
    for key in ("fid", "vfid"):
        assert math.isfinite(results["set_metrics"][key]) and results["set_metrics"][key] >= 0
    recorded = read_json(tmp_path / "run" / "provenance.json")["metrics"]
    assert recorded["fid"]["weights"]["sha256"] == manifest["fid_inception"]["sha256"]
    assert all(recorded[k]["tier"] == "test" for k in ("lpips", "vlpips", "fid", "vfid"))  # stand-ins, not paper
    assert any(m.get("weights") and m["weights"]["sha256"] == manifest["i3d_rgb_imagenet"]["sha256"]
               for m in (recorded["vlpips"], recorded["vfid"]))

    # the CLI on the saved frames gives the same per-video LPIPS
    from hypercon.io.frames import write_frames
    from metrics.cli import main

    from datasets.synthetic import SyntheticDataset

    gt_root = tmp_path / "gt"
    data = SyntheticDataset(num_videos=2, num_frames=4, height=64, width=96, seed=0)
    for name in data.video_names():
        write_frames(data.load(name).frames, gt_root / name)
    cli = main(["--pred", str(tmp_path / "run" / "videos"), "--gt", str(gt_root), "--metrics", "lpips",
                "--weights-dir", str(folder), "--out", str(tmp_path / "cli.json")])
    by_video = {r["video"]: r["metrics"]["lpips"] for r in results["videos"]}
    for row in cli["videos"]:
        assert row["metrics"]["lpips"] == pytest.approx(by_video[row["video"]], rel=1e-5)


def test_wrong_hash_stand_in_is_refused_before_any_work(standins, tmp_path, monkeypatch):
    folder, manifest = standins
    bad = {**manifest, "fid_inception": {**manifest["fid_inception"], "sha256": "0" * 64}}
    (tmp_path / "bad.json").write_text(json.dumps({"entries": bad}))
    monkeypatch.setenv("HYPERCON_WEIGHTS_MANIFEST", str(tmp_path / "bad.json"))
    from hypercon.weights import WeightsHashError

    with pytest.raises(WeightsHashError, match="pt_inception-standin.pth"):
        run(_cfg(tmp_path, folder, "metrics.names=[fid]"), tmp_path / "run")
    assert not (tmp_path / "run" / "videos").exists()


def test_optional_metric_without_weights_is_reported_unavailable(tmp_path, monkeypatch):
    monkeypatch.setattr(reg, "hub_checkpoints_dir", lambda: tmp_path / "hub")
    results = run(_cfg(tmp_path, tmp_path / "empty", "metrics.names=[fid,ewarp]", "metrics.optional=[fid]"),
                  tmp_path / "run")
    reason = results["unavailable"]["fid"]
    assert "fid" not in results["set_metrics"] and "pt_inception" in reason and "not found" in reason
    assert results["aggregate"]["ewarp"]["n"] == 2
