"""``apply_hypercon`` / ``evaluate`` and ``python -m hypercon apply | evaluate``: the same numbers as the runner,
streaming equal to in-memory, mp4 in → mp4 out with the same frame count and fps, ``--compare``."""

from __future__ import annotations

import doctest
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import hypercon.api
from experiments.runner import run
from hypercon import apply_hypercon, evaluate
from hypercon.api import build_method, resolve_model
from hypercon.apply import apply_to_file, open_input
from hypercon.checks import frames_to_uint8
from hypercon.cli import main
from hypercon.errors import SettingError
from hypercon.io.frames import read_frames, read_masks, write_frames, write_mask
from hypercon.io.video import count_video_frames, probe_video, read_video, write_video
from test_run_e2e import cfg_for

REPO = Path(__file__).resolve().parents[1]


def synthetic(num_frames: int, height: int = 48, width: int = 64):
    from datasets.synthetic import make_synthetic_video

    return make_synthetic_video(7, num_frames, height, width).frames


def test_api_docstring_example_runs():
    result = doctest.testmod(hypercon.api, optionflags=doctest.ELLIPSIS)
    assert result.attempted >= 4 and result.failed == 0


def test_apply_hypercon_and_evaluate_on_numpy_equal_the_runner(tmp_path):
    out = tmp_path / "run"
    results = run(cfg_for(tmp_path, "model=flicker", "dataset.num_videos=1"), out)  # i=1, c=3 (SMALL_HYPERCON)
    source = frames_to_uint8(read_frames(out / "inputs" / "synth-000" / "frames"))
    expected = frames_to_uint8(read_frames(out / "videos" / "synth-000" / "frames"))
    got = apply_hypercon(source, "flicker", num_inserted=1, window=3)
    assert got.dtype == np.uint8 and np.array_equal(got, expected)
    tensor = apply_hypercon(torch.from_numpy(source).permute(0, 3, 1, 2) / 255.0, "flicker", num_inserted=1, window=3)
    assert isinstance(tensor, torch.Tensor) and np.array_equal(frames_to_uint8(tensor), expected)
    values = evaluate(got, source)
    assert set(values) == {"ewarp", "cpsnr", "cssim"}
    for key, value in values.items():
        assert value == pytest.approx(results["aggregate"][key]["mean"], rel=1e-9), key


def test_streaming_equals_in_memory_over_more_than_three_chunks(tmp_path):
    frames = synthetic(9)
    known = torch.ones(9, 1, 48, 64)
    known[:, :, 12:30, 20:44] = 0
    write_frames(frames, tmp_path / "in")
    for t, k in enumerate(known):
        write_mask(k, tmp_path / "masks" / f"{t:05d}.png", polarity="known")
    for model, masks in (("flicker", None), ("opencv_inpaint", tmp_path / "masks")):
        method = build_method("hypercon", resolve_model(model), {"num_inserted": 1, "window": 5, "chunk_size": 2})
        video = open_input(tmp_path / "in", masks, "known")
        done = apply_to_file(method, video, tmp_path / f"out_{model}")
        assert done.num_frames == 9 and done.stats["input_peak_held"] < 9  # 5 chunks, never the whole video
        streamed = frames_to_uint8(read_frames(tmp_path / f"out_{model}"))
        in_memory = apply_hypercon(frames_to_uint8(frames), model, num_inserted=1, window=5,
                                   known=None if masks is None else read_masks(masks, polarity="known"))
        assert np.array_equal(streamed, in_memory), model


def test_cli_apply_on_an_mp4_keeps_frame_count_and_fps(tmp_path):
    write_video(synthetic(6), tmp_path / "in.mp4", fps=12.5)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([sys.executable, "-m", "hypercon", "apply", str(tmp_path / "in.mp4"), "--model",
                           "kmeans_palette", "--out", str(tmp_path / "out.mp4"), "--num-inserted", "1"],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "6 frames → " in proc.stdout and "HyperCon-mean (i=1, c=" in proc.stdout  # c, d: the yaml's
    assert count_video_frames(tmp_path / "out.mp4") == 6
    assert probe_video(tmp_path / "out.mp4")["fps"] == pytest.approx(12.5)
    bad = subprocess.run([sys.executable, "-m", "hypercon", "apply", str(tmp_path / "in.mp4"), "--model", "nope",
                          "--out", str(tmp_path / "x.mp4")], cwd=REPO, env=env, capture_output=True, text=True)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "model 'nope': not a config name" in bad.stderr


def test_cli_compare_writes_the_side_by_side_video_and_prints_both(tmp_path, capsys):
    write_video(synthetic(5, 64, 96), tmp_path / "in.mp4", fps=10)
    result = main(["apply", str(tmp_path / "in.mp4"), "--model", "flicker", "--out", str(tmp_path / "out.mp4"),
                   "--num-inserted", "1", "--window", "3", "--compare"])
    side, _ = read_video(tmp_path / "out_compare.mp4")
    assert side.shape == (5, 3, 64, 3 * 96) and count_video_frames(tmp_path / "out_framewise.mp4") == 5
    printed = capsys.readouterr().out
    assert "E_warp" in printed and "C_PSNR" in printed and "frame-wise" in printed
    fw, hc = result["metrics"]["frame-wise"], result["metrics"]["hypercon"]
    assert hc["ewarp"] < fw["ewarp"] and set(fw) == {"ewarp", "cpsnr"}
    main(["evaluate", str(tmp_path / "out.mp4"), "--source", str(tmp_path / "in.mp4"), "--metrics", "ewarp"])
    assert capsys.readouterr().out.startswith("ewarp\t")


def test_method_options_and_specs_are_checked():
    with pytest.raises(SettingError, match="--window: HyperCon's options, not method 'framewise'"):
        main(["apply", "in.mp4", "--model", "flicker", "--out", "o.mp4", "--method", "framewise", "--window", "3"])
    with pytest.raises(SettingError, match="conventions apply to callables and model files"):
        resolve_model("fst_engstrom:udnie", {"range": [-1, 1]})
