"""Issue 26, "Errors a user should read in one line": each case stops with exit 2 and one line naming the key
or the file, before the run folder is made where the check can be made up front."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

from experiments.preflight import check_log_level, check_seed
from hypercon.errors import SettingError
from test_integrity import error_lines, run_cli

TINY = ["method=framewise", "dataset.num_videos=1", "dataset.num_frames=3", "dataset.height=16", "dataset.width=24",
        "save_video=false"]


@pytest.mark.parametrize("override, expected", [
    ("device=mps", "device=mps"),  # before: torch's RuntimeError mid-run, exit 1
    ("device=gpu", "device=gpu"),
    ("seed=-5", "seed=-5"),  # before: numpy's "expected non-negative integer", exit 1
    ("log_level=LOUD", "log_level=LOUD"),  # before: accepted silently
    ("metrics.names=[ewarp,ewrap]", "did you mean 'ewarp'"),  # before: 21 traceback lines
])
def test_a_bad_setting_is_one_line_before_the_run_folder(tmp_path, override, expected):
    out = tmp_path / "run"
    proc = run_cli(*TINY, f"hydra.run.dir={out}", f"paths.output_root={tmp_path}", override)
    lines = error_lines(proc.stderr)
    assert proc.returncode == 2 and len(lines) == 1, proc.stderr[-3000:]
    assert expected in lines[0] and "Traceback" not in proc.stderr
    assert not out.exists()  # refused in pre-flight: no run folder


def test_seed_and_log_level_rules():
    check_seed(0)
    check_seed(2**32 - 1)
    for bad in (-1, 2**32, 1.5, "x"):
        with pytest.raises(SettingError, match="seed="):
            check_seed(bad)
    check_log_level("debug")
    with pytest.raises(SettingError, match="log_level=LOUD: .*DEBUG, INFO, WARNING, ERROR, CRITICAL"):
        check_log_level("LOUD")


def test_the_log_level_is_applied(tmp_path):
    proc = run_cli(*TINY, f"hydra.run.dir={tmp_path / 'run'}", f"paths.output_root={tmp_path}", "log_level=ERROR",
                   "metrics.names=[ewarp]")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert " INFO " not in proc.stdout + proc.stderr and "[INFO]" not in proc.stdout + proc.stderr


class Payload:
    """Stands for a malicious object: pickled as a global the safe loader refuses."""


@pytest.mark.parametrize("loader", ["sidecar", "training_state"])
def test_a_forged_checkpoint_never_shows_advice_to_load_unsafely(tmp_path, loader):
    import torch

    from baselines.common.checkpoint import load_state
    from baselines.common.sidecar import load_trained, sidecar_path, write_json
    from hypercon.errors import UserError
    from hypercon.weights.manifest import sha256_of

    path = tmp_path / "forged.pt"
    torch.save({"format": "x", "modules": {"g": Payload()}}, path)
    write_json(sidecar_path(path), {"file": path.name, "sha256": sha256_of(path)})  # a forged, matching sidecar
    with pytest.raises((UserError, ValueError)) as caught:
        load_trained(path) if loader == "sidecar" else load_state(path)
    text = str(caught.value)
    assert "weights_only" not in text and "Re-running" not in text and "can still be loaded" not in text, text
    assert str(path) in text and "\n" not in text


def write_tiny_videos(root: Path, side: int) -> None:
    """One 4-frame video of ``side``×``side`` random frames under ``root/v1``."""
    import torch

    from hypercon.io.frames import write_frames

    torch.manual_seed(0)
    write_frames(torch.rand(4, 3, side, side), root / "v1")


def test_1x1_frames_make_window_metrics_unavailable_and_the_run_completes(tmp_path):
    from experiments.runner import run
    from test_run_e2e import cfg_for

    write_tiny_videos(tmp_path / "videos", 1)
    results = run(cfg_for(tmp_path, "dataset=folder", f"dataset.root={tmp_path / 'videos'}", "save_video=false",
                          "metrics.names=[ewarp,cpsnr,cssim,fidelity]"), tmp_path / "run")
    assert results["complete"], results  # before: ValueError from the SSIM window, the run stopped
    row = results["videos"][0]
    assert set(row["metrics"]) == {"ewarp"}
    assert "1x1 are smaller than the 7x7 SSIM window" in row["unavailable"]["fidelity"]
    assert {"cpsnr", "cssim"} <= set(row["unavailable"])


@pytest.mark.parametrize("side, available", [(1, False), (6, False), (7, True)])
def test_ground_truth_psnr_ssim_needs_the_ssim_window(side, available):
    import torch

    from metrics.base import EvalVideo, MetricUnavailable
    from metrics.fidelity import GroundTruthPSNRSSIM

    frames = torch.rand(2, 3, side, side)
    video = EvalVideo(name="v", output=frames, source=frames, gt=frames.flip(0))
    if available:
        assert set(GroundTruthPSNRSSIM().compute(video)) == {"psnr", "ssim"}
    else:
        with pytest.raises(MetricUnavailable, match=f"gt: v frames {side}x{side} are smaller than the 7x7 SSIM"):
            GroundTruthPSNRSSIM().compute(video)


def refuse_writes_after_first_record(monkeypatch, code: int) -> None:
    """From the first video's record on, every atomic write raises ``OSError(code)`` naming its file."""
    import os

    real_replace, refusing = os.replace, []

    def replace(src, dst, *args, **kwargs):
        if refusing:
            raise OSError(code, os.strerror(code), str(src))
        real_replace(src, dst, *args, **kwargs)
        refusing.extend([dst] if str(dst).endswith("metrics.json") else [])

    monkeypatch.setattr(os, "replace", replace)


@pytest.mark.parametrize("code, said", [(errno.ENOSPC, "no space left on the device (ENOSPC)"),
                                        (errno.EROFS, "the file system is read-only (EROFS)"),
                                        (errno.EACCES, "permission denied (EACCES)")])
def test_a_disk_that_refuses_writes_mid_run_stops_in_one_line_and_keeps_finished_records(tmp_path, monkeypatch,
                                                                                            code, said):
    from experiments.runner import run
    from experiments.store import read_json
    from hypercon.errors import WriteRefused
    from test_run_e2e import cfg_for

    out = tmp_path / "run"
    cfg = cfg_for(tmp_path, "method=framewise", "dataset.num_frames=3", "dataset.height=16", "dataset.width=24",
                  "metrics.names=[ewarp]")
    refuse_writes_after_first_record(monkeypatch, code)
    with pytest.raises(WriteRefused) as caught:  # before: OSError naming a hidden .tmp file, chained
        run(cfg, out)
    line = str(caught.value)
    assert "\n" not in line and said in line and ".tmp" not in line and "then run the same command again" in line
    assert str(out / "videos" / "synth-001") in line or str(out / "results.json") in line
    assert read_json(out / "videos" / "synth-000" / "metrics.json")["complete"]  # finished results are kept
    assert not list(out.rglob(".*.tmp*"))


def test_a_full_disk_on_the_command_line_is_one_line_without_a_logging_error_dump(tmp_path):
    import os
    import subprocess
    import sys

    from test_integrity import REPO

    env = {k: v for k, v in os.environ.items() if k not in ("HYDRA_FULL_ERROR", "HYPERCON_VERBOSE")}
    proc = subprocess.run([sys.executable, "tests/refuse_writes.py", "ENOSPC", "run.py", *TINY, "dataset.num_videos=2",
                           f"hydra.run.dir={tmp_path / 'run'}", f"paths.output_root={tmp_path}"],
                          cwd=REPO, env={**env, "PYTHONPATH": str(REPO)}, capture_output=True, text=True, timeout=300)
    lines = error_lines(proc.stderr)
    assert proc.returncode == 2 and len(lines) == 1, proc.stderr[-3000:]  # before: a 50-line "Logging error" dump
    assert "synth-001/frames/00000.png: no space left on the device (ENOSPC)" in lines[0]
    assert "Logging error" not in proc.stdout + proc.stderr and "Traceback" not in proc.stderr
    assert "run.log: no space left on the device (ENOSPC)): it stops here" in proc.stdout  # said once, as a warning
    assert (tmp_path / "run" / "videos" / "synth-000" / "metrics.json").is_file()


def test_the_run_log_stops_quietly_on_a_refused_write_but_a_bad_message_is_still_reported(tmp_path, capsys):
    import logging

    from experiments.run_log import RunLogHandler

    class FullDisk:
        writes = 0

        def write(self, text):
            FullDisk.writes += 1
            raise OSError(errno.ENOSPC, "No space left on device")

        def flush(self):
            pass

    handler = RunLogHandler(tmp_path / "run.log", delay=True)
    handler.stream = FullDisk()
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "%s", ("hello",), None)
    handler.handle(record)
    handler.handle(record)
    assert FullDisk.writes == 1 and handler.refused.errno == errno.ENOSPC
    assert str(tmp_path / "run.log") == handler.refused.filename
    assert "Logging error" not in capsys.readouterr().err
    other = RunLogHandler(tmp_path / "other.log", delay=True)
    other.handle(logging.LogRecord("x", logging.INFO, __file__, 1, "%d", ("not a number",), None))  # a bug
    assert "Logging error" in capsys.readouterr().err and other.refused is None


def test_an_atomic_write_refused_names_the_file_not_its_temporary(tmp_path, monkeypatch):
    import os

    from hypercon.errors import os_error_line
    from hypercon.io.atomic import atomic_write_bytes

    target = tmp_path / "results.json"
    monkeypatch.setattr(os, "replace", lambda src, dst: (_ for _ in ()).throw(
        OSError(errno.EROFS, "Read-only file system", str(src))))
    with pytest.raises(OSError) as caught:
        atomic_write_bytes(target, b"{}")
    assert caught.value.filename == str(target) and caught.value.errno == errno.EROFS
    assert os_error_line(caught.value) == f"{target}: the file system is read-only (EROFS)"
    assert list(tmp_path.iterdir()) == []


def write_mask_files(folder: Path, values, mode: str = "L", count: int = 4, size: tuple[int, int] = (40, 56)) -> None:
    """``count`` mask files: a rectangle of ``values`` (a grey value or an RGB triple) on 0."""
    import numpy as np
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    shape = size if mode == "L" else (*size, 3)
    for i in range(count):
        arr = np.zeros(shape, dtype=np.uint8)
        arr[10:20, 12:30] = values
        Image.fromarray(arr, mode).save(folder / f"{i:05d}.png")


@pytest.mark.parametrize("polarity", ["hole", "known"])
def test_masks_saved_as_0_and_1_mark_the_1s(tmp_path, polarity):
    from hypercon.io.frames import read_masks

    write_mask_files(tmp_path, 1)  # before: every value <= 127, nothing marked ("no hole pixels")
    marked = read_masks(tmp_path, polarity=polarity)[:, 0] == (0 if polarity == "hole" else 1)
    assert marked[:, 10:20, 12:30].all() and int(marked.sum()) == 4 * 10 * 18


@pytest.mark.parametrize("values, mode, largest", [(100, "L", 100), ((255, 0, 0), "RGB", 76)])
def test_masks_the_threshold_hides_entirely_are_refused_naming_the_folder_value_and_key(tmp_path, values, mode,
                                                                                         largest):
    from hypercon.errors import InputError
    from hypercon.io.frames import read_masks

    write_mask_files(tmp_path / "m", values, mode)
    with pytest.raises(InputError) as caught:
        read_masks(tmp_path / "m", polarity="hole")
    line = str(caught.value)
    assert f"{tmp_path / 'm'}: no mask pixel is marked" in line and "mask_threshold=127" in line
    assert f"the largest, {largest}, in 00000.png" in line and "dataset.mask_threshold" in line and "\n" not in line


def test_masks_that_mark_something_or_nothing_at_all_are_accepted(tmp_path):
    from hypercon.io.frames import read_masks

    write_mask_files(tmp_path / "green", (0, 255, 0), "RGB")  # luma 150 > 127: the luma rule marks green
    assert (read_masks(tmp_path / "green", polarity="hole") == 0).sum() == 4 * 10 * 18
    write_mask_files(tmp_path / "empty", 0)  # all 0: no hole on purpose (the dataset warns), not refused
    assert bool((read_masks(tmp_path / "empty", polarity="hole") == 1).all())
    write_mask_files(tmp_path / "dim", 100)
    assert (read_masks(tmp_path / "dim", polarity="hole", threshold=99) == 0).sum() == 4 * 10 * 18


@pytest.mark.parametrize("values, mode, accepted", [(1, "L", True), ((255, 0, 0), "RGB", False)])
def test_a_run_on_0_1_masks_measures_the_holes_and_on_red_masks_stops_in_one_line(tmp_path, values, mode, accepted):
    from experiments.runner import VideosFailed, run
    from hypercon.io.frames import write_frames
    from datasets.synthetic import make_synthetic_video
    from test_run_e2e import cfg_for

    write_frames(make_synthetic_video(seed=0, num_frames=4, height=40, width=56).frames, tmp_path / "videos" / "v")
    write_mask_files(tmp_path / "masks" / "v", values, mode)
    cfg = cfg_for(tmp_path, "task=inpaint", "dataset=folder", f"dataset.root={tmp_path / 'videos'}", "task.masks=object",
                  f"dataset.masks_root={tmp_path / 'masks'}", "method=framewise", "save_video=false",
                  "metrics.names=[ewarp_masked]")
    if accepted:  # before: "no hole pixels", every metric unavailable
        results = run(cfg, tmp_path / "run")
        assert results["complete"] and "ewarp_masked" in results["videos"][0]["metrics"]
    else:
        with pytest.raises(VideosFailed, match="no mask pixel is marked: every value is at or below "
                                               "mask_threshold=127 .the largest, 76"):
            run(cfg, tmp_path / "run")


def test_table2_whose_rows_could_not_run_says_why_and_how_to_get_the_offline_table(tmp_path, monkeypatch):
    import hypercon.weights.registry as reg
    from experiments.collect import collect
    from experiments.runner import write_unavailable
    from experiments.tables import build_table, render_markdown
    from hypercon.errors import one_line
    from hypercon.weights import MissingWeightsError, resolve_weights
    from test_run_e2e import cfg_for

    import tempfile

    monkeypatch.setattr(reg, "hub_checkpoints_dir", lambda: tmp_path / "hub")  # wherever the weights may lie here
    monkeypatch.delenv("HYPERCON_WEIGHTS", raising=False)
    # a short folder: table notes are shortened to 300 characters, and pytest's (xdist's) tmp paths are long
    no_weights = Path(tempfile.mkdtemp(prefix="nw"))
    with pytest.raises(MissingWeightsError) as missing:  # the record a sweep job writes (run.py main)
        resolve_weights("cxtattn", weights_dir=no_weights)
    for method in ("framewise", "hypercon"):
        cfg = cfg_for(tmp_path, "+experiment=table2_inpaint", "dataset=synthetic", f"method={method}")
        write_unavailable(cfg, tmp_path / "sweep" / f"method={method}", f"weights missing: {one_line(missing.value)}")
    md = render_markdown(build_table(collect(tmp_path / "sweep"), "table2"))
    # before: no metric column, each row footnoted "(tier paper): no components", nothing said about why
    assert "no components" not in md
    assert md.count("not run here: weights missing: weights 'cxtattn'") == 2 and "'torch_model.p' not found" in md
    assert f"Put it at {no_weights / 'torch_model.p'}" in md
    no_weights.rmdir()
    assert "run the same sweep with model=opencv_inpaint added" in md
