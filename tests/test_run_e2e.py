"""End-to-end runs of the Hydra app on tiny synthetic videos: outputs, provenance, resume, bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir

import experiments.hydra_setup  # noqa: F401
from experiments.runner import run
from experiments.store import read_json
from hypercon.errors import SettingError

REPO = Path(__file__).resolve().parents[1]
TINY = ["dataset.num_videos=2", "dataset.num_frames=5", "dataset.height=64", "dataset.width=96", "save_video=false"]
SMALL_HYPERCON = ["method.num_inserted=1", "method.window=3"]


def cfg_for(tmp_path: Path, *overrides: str):
    with initialize_config_dir(config_dir=str(REPO / "conf"), version_base="1.3"):
        method = [o for o in overrides if o.startswith("method=")]
        extra = SMALL_HYPERCON if not method or "hypercon" in method[0] else []
        tiny = [] if any(o.startswith("dataset=") for o in overrides) else TINY
        return compose(config_name="config", overrides=[*tiny, *extra, f"paths.output_root={tmp_path}", *overrides])


def test_default_style_run_writes_results_with_provenance(tmp_path):
    out = tmp_path / "run"
    results = run(cfg_for(tmp_path), out)
    assert results["complete"] and results["num_videos"] == 2
    for key in ("ewarp", "cpsnr", "cssim", "fidelity_psnr", "fidelity_ssim"):
        assert results["aggregate"][key]["n"] == 2, key
    assert results["aggregate"]["fidelity_psnr"]["mean"] < 60  # a real comparison with the frame-wise output
    frames = sorted((out / "videos" / "synth-000" / "frames").glob("*.png"))
    assert len(frames) == 5
    prov = read_json(out / "provenance.json")
    assert prov["method"]["name"] == "hypercon" and prov["method"]["tier"] == "offline"
    assert set(prov["method"]["components"]) == {"model", "interp", "flow"}
    assert all(c["tier"] == "offline" for c in prov["method"]["components"].values())
    assert prov["metric_flow"]["name"] and prov["code"]["commit"] and prov["packages"]["torch"]
    csv = (out / "results.csv").read_text().splitlines()
    assert csv[0].startswith("video,method") and len(csv) == 1 + 2 + 2


def test_rerun_skips_complete_videos_and_overwrite_recomputes(tmp_path):
    out = tmp_path / "run"
    cfg = cfg_for(tmp_path, "method=framewise", "metrics=none")
    run(cfg, out)
    record = out / "videos" / "synth-001" / "metrics.json"
    stamp = record.stat().st_mtime_ns
    run(cfg, out)
    assert record.stat().st_mtime_ns == stamp
    # another config's results are refused without overwrite=true (issue 11, item 5), replaced with it
    with pytest.raises(SettingError, match="holds the results of another config.*model"):
        run(cfg_for(tmp_path, "method=framewise", "metrics=none", "model=flicker"), out)
    assert record.stat().st_mtime_ns == stamp
    run(cfg_for(tmp_path, "method=framewise", "metrics=none", "model=flicker", "overwrite=true"), out)
    assert record.stat().st_mtime_ns != stamp
    stamp = record.stat().st_mtime_ns
    run(cfg_for(tmp_path, "method=framewise", "metrics=none", "model=flicker", "overwrite=true"), out)
    assert record.stat().st_mtime_ns != stamp


def test_inpaint_run_saves_masks_and_composites_known_pixels(tmp_path):
    out = tmp_path / "run"
    results = run(cfg_for(tmp_path, "task=inpaint"), out)
    assert sorted(p.name for p in (out / "masks").glob("*.png")) == ["synth-000.png", "synth-001.png"]
    for key in ("ewarp", "ewarp_masked", "psnr", "ssim"):
        assert results["aggregate"][key]["n"] == 2, key
    from hypercon.io.frames import read_frames, read_mask

    from datasets.synthetic import SyntheticDataset

    known = read_mask(out / "masks" / "synth-000.png", polarity="known")
    video = SyntheticDataset(num_videos=1, num_frames=5, height=64, width=96, seed=0).load("synth-000")
    output = read_frames(out / "videos" / "synth-000" / "frames")
    assert (known < 1).any() and (known > 0).any()
    diff = (output - video.frames).abs() * known
    assert diff.max() <= 1 / 255 + 1e-6  # known pixels pass through (8-bit rounding only)


def test_bad_frame_stops_with_file_name_and_keeps_finished_results(tmp_path):
    from hypercon.io.frames import write_frames

    from datasets.synthetic import make_synthetic_video

    root = tmp_path / "videos"
    for i, name in enumerate(["a-good", "b-bad"]):
        write_frames(make_synthetic_video(seed=i, num_frames=4, height=40, width=56).frames, root / name)
    bad = root / "b-bad" / "00002.png"
    bad.write_bytes(b"not a png")
    out = tmp_path / "run"
    with pytest.raises(Exception, match="00002.png"):
        run(cfg_for(tmp_path, "dataset=folder", f"dataset.root={root}", "method=framewise"), out)
    results = read_json(out / "results.json")
    assert not results["complete"] and [r["video"] for r in results["videos"]] == ["a-good"]
    assert (out / "videos" / "a-good" / "metrics.json").is_file()
    failed = read_json(out / "videos" / "b-bad" / "metrics.json")  # recorded as failed, never as complete
    assert failed["status"] == "failed" and not failed["complete"] and "00002.png" in failed["reason"]
    assert list(results["failed"]) == ["b-bad"]


def test_missing_weights_stop_before_any_work(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))
    out = tmp_path / "run"
    with pytest.raises(Exception) as info:
        run(cfg_for(tmp_path, "metrics.names=[fid]", f"paths.weights_dir={tmp_path / 'w'}"), out)
    assert "pt_inception-2015-12-05" in str(info.value)
    assert not (out / "videos").exists()


def test_cli_main_job_runs_and_reports(tmp_path):
    env = {**os.environ, "HYPERCON_OUTPUT": str(tmp_path)}
    proc = subprocess.run(
        [sys.executable, str(REPO / "run.py"), *TINY, "dataset.num_videos=1", "method=framewise"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads((tmp_path / "runs").glob("*/results.json").__next__().read_text())
    assert results["complete"] and results["videos"][0]["method"] == "framewise"


def test_cli_rejects_mistyped_override(tmp_path):
    proc = subprocess.run(
        [sys.executable, str(REPO / "run.py"), "method.window=five"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode != 0 and "window" in proc.stderr


def test_resumed_run_gives_the_same_patch_consistency_as_one_pass(tmp_path):
    """VIE draws C_PSNR patches from one random stream across videos: a resumed run must advance it
    past the videos it skips."""
    out = tmp_path / "run"
    cfg = cfg_for(tmp_path, "method=framewise", "metrics.names=[cpsnr,cssim]")
    first = run(cfg, out)
    (out / "videos" / "synth-001" / "metrics.json").unlink()  # as if killed before the second video
    resumed = run(cfg, out)
    for key in ("cpsnr", "cssim"):
        assert [r["metrics"][key] for r in resumed["videos"]] == [r["metrics"][key] for r in first["videos"]]


def test_metrics_cli_gives_the_runner_numbers_on_saved_frames(tmp_path):
    from hypercon.io.frames import write_frames
    from metrics.cli import main

    from datasets.synthetic import SyntheticDataset

    results = run(cfg_for(tmp_path, "method=framewise", "model=flicker"), tmp_path / "run")
    source = tmp_path / "source"
    data = SyntheticDataset(num_videos=2, num_frames=5, height=64, width=96, seed=0)
    for name in data.video_names():
        write_frames(data.load(name).frames, source / name)
    cli = main(["--pred", str(tmp_path / "run" / "videos"), "--source", str(source),
                "--metrics", "ewarp,cpsnr,cssim", "--cache", str(tmp_path / "cache"), "--out", str(tmp_path / "cli.json")])
    runner = {r["video"]: r["metrics"] for r in results["videos"]}
    for row in cli["videos"]:
        for key in ("ewarp", "cpsnr", "cssim"):
            assert row["metrics"][key] == pytest.approx(runner[row["video"]][key], rel=1e-6, abs=1e-9), key


def test_this_projects_packages_are_imported():
    import datasets
    import metrics

    from experiments.hydra_setup import REPO_ROOT, check_own_packages

    check_own_packages()
    assert Path(datasets.__file__).resolve().is_relative_to(REPO_ROOT)
    assert Path(metrics.__file__).resolve().is_relative_to(REPO_ROOT)


def test_frame_wise_reference_is_computed_only_when_a_metric_uses_it():
    from types import SimpleNamespace

    from experiments.runner import Job
    from metrics.base import MetricKey, VideoMetric
    from metrics.fidelity import Fidelity
    from metrics.patch_consistency import PatchConsistencyPSNR
    from metrics.warping_error import WarpingError

    class Paired(VideoMetric):  # LPIPS-like: compares with gt / reference per its compare_with option
        name = "paired"
        keys = {"paired": MetricKey("Paired", ".3f", False, "auto")}

        def __init__(self, compare_with="auto"):
            self.compare_with = self.check_compare_with(compare_with)

        def compute(self, video):
            return {}

    def needs(metrics, method="hypercon", has_gt=False):
        flags = {"hypercon": (False, False, True), "framewise": (True, False, True), "vcons": (False, True, True),
                 "gatys": (False, False, False)}[method]
        method = SimpleNamespace(is_reference=flags[0], needs_reference_input=flags[1], uses_image_model=flags[2])
        return Job.needs_reference(SimpleNamespace(method=method, metrics=metrics), has_gt)

    auto, ref, gt = Paired("auto"), Paired("reference"), Paired("gt")
    assert needs({"fidelity": Fidelity()}, has_gt=True)
    assert not needs({"fidelity": Fidelity()}, "framewise", has_gt=True)  # its own reference: the paper's "-"
    assert not needs({"lpips": auto, "vfid": gt}, has_gt=True)  # inpainting with GT
    assert needs({"lpips": auto}, has_gt=False)  # style transfer / object removal
    assert needs({"fid": ref, "lpips": gt}, has_gt=True)
    assert not needs({"ewarp": WarpingError(), "cpsnr": PatchConsistencyPSNR()}, has_gt=False)
    assert needs({}, "vcons")  # a blind post-processor takes the frame-wise output as input
    assert not needs({"fidelity": Fidelity()}, "gatys")  # no image model: no reference, fidelity unavailable
    with pytest.raises(ValueError, match="compare_with"):
        Paired("both")


def test_provenance_names_the_configured_method_and_its_label(tmp_path):
    results = run(cfg_for(tmp_path, "method=hypercon_median", "metrics=none"), tmp_path / "run")
    method = results["provenance"]["method"]
    assert method["name"] == "hypercon_median"  # the config's name, not the class's
    assert method["label"] == "HyperCon-median (i=1, c=3, d=1)"
    assert method["axes"] == {"i": 1, "c": 3, "d": 1, "pool": "median"}
    assert not method["is_reference"] and not method["needs_reference_input"]
    assert {"table": "table2", "label": "HyperCon-median", "note": "method=hypercon_median",
            "strict": False} in method["paper_rows"]
