"""An output that is, or would overwrite, an input is refused before anything is written (issue 26, item 9):
``python -m hypercon apply X --out X`` for an mp4 and for a frame folder, through a link or another spelling,
the ``--compare`` siblings, ``--mask``, ``evaluate --json`` and the survey's ``analyze --out`` /
``export --csv``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from hypercon.cli import main
from hypercon.errors import SettingError
from hypercon.io.frames import write_frames
from hypercon.io.overwrite import overwrites, same_path
from hypercon.io.video import write_video

REPO = Path(__file__).resolve().parents[1]
FAST = ["--model", "flicker", "--num-inserted", "1", "--window", "3", "--chunk-size", "1"]


def tiny(num_frames: int = 3):
    from datasets.synthetic import make_synthetic_video

    return make_synthetic_video(3, num_frames, 32, 48).frames


def snapshot(path: Path) -> dict[str, bytes]:
    files = sorted(path.iterdir()) if path.is_dir() else [path]
    return {f.name: f.read_bytes() for f in files}


def test_apply_onto_its_own_mp4_is_refused_in_one_line(tmp_path):
    video = tmp_path / "in.mp4"
    write_video(tiny(), video, fps=8)
    before = snapshot(video)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([sys.executable, "-m", "hypercon", "apply", str(video), *FAST, "--out", str(video)],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr[-2000:]  # before: exit 0, replaced
    assert f"--out {video} is, or would overwrite, the input INPUT {video}" in proc.stderr
    assert snapshot(video) == before


@pytest.mark.parametrize("spelling", ["symlink", "hardlink", "dotdot"])
def test_the_same_mp4_through_another_path_is_refused(tmp_path, spelling):
    video = tmp_path / "in.mp4"
    write_video(tiny(), video, fps=8)
    (tmp_path / "sub").mkdir()
    out = {"symlink": tmp_path / "link.mp4", "hardlink": tmp_path / "hard.mp4",
           "dotdot": tmp_path / "sub" / ".." / "in.mp4"}[spelling]
    if spelling == "symlink":
        out.symlink_to(video)
    elif spelling == "hardlink":
        os.link(video, out)
    before = snapshot(video)
    with pytest.raises(SettingError, match="would overwrite, the input INPUT"):
        main(["apply", str(video), *FAST, "--out", str(out)])
    assert snapshot(video) == before


@pytest.mark.parametrize("spelling", ["same", "symlink", "trailing"])
def test_apply_onto_its_own_frame_folder_is_refused(tmp_path, spelling):
    frames = tmp_path / "frames"
    write_frames(tiny(4), frames)
    out = {"same": frames, "symlink": tmp_path / "alias", "trailing": Path(str(frames) + "/./")}[spelling]
    if spelling == "symlink":
        out.symlink_to(frames, target_is_directory=True)
    before = snapshot(frames)
    with pytest.raises(SettingError, match="would overwrite, the input INPUT"):
        main(["apply", str(frames), *FAST, "--out", str(out)])
    assert snapshot(frames) == before


def test_siblings_of_apply_and_evaluate_are_refused(tmp_path):
    video, masks = tmp_path / "in_framewise.mp4", tmp_path / "masks"
    write_video(tiny(), video, fps=8)
    write_frames(tiny(), masks)
    with pytest.raises(SettingError, match="frame-wise output .*in_framewise.mp4 is, or would overwrite"):
        main(["apply", str(video), *FAST, "--out", str(tmp_path / "in.mp4"), "--compare"])  # the compare sibling
    with pytest.raises(SettingError, match="would overwrite, the input --mask"):
        main(["apply", str(video), *FAST, "--mask", str(masks), "--out", str(masks)])
    inside = tmp_path / "frames"
    write_frames(tiny(), inside)
    with pytest.raises(SettingError, match="would overwrite, the input INPUT"):  # an input file in the out folder
        main(["apply", str(inside / "00000.png"), *FAST, "--out", str(inside)])
    with pytest.raises(SettingError, match="--json .* would overwrite, the input OUTPUT"):
        main(["evaluate", str(video), "--source", str(video), "--metrics", "ewarp", "--json", str(video)])
    assert video.stat().st_size > 1000


def test_survey_tables_never_overwrite_the_survey(survey_runs, tmp_path, capsys):
    from experiments.survey.__main__ import main as survey_main

    out = tmp_path / "s"
    assert survey_main(["build", str(survey_runs), "--pair", "hypercon:framewise", "--question", "preferred",
                        "--out", str(out)]) == 0
    spec = (out / "survey.json").read_bytes()
    assert survey_main(["analyze", str(out), "--out", str(out / "survey.json")]) == 2
    assert survey_main(["export", str(out), "--csv", str(out / "qualification.json")]) == 2
    assert "is, or would overwrite" in capsys.readouterr().err and (out / "survey.json").read_bytes() == spec


def test_same_path_and_overwrites_rules(tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "f.png").write_bytes(b"x")
    assert same_path(tmp_path / "d" / ".." / "d", tmp_path / "d")
    assert same_path(tmp_path / "new.mp4", tmp_path / "." / "new.mp4")  # neither exists yet
    assert not same_path(tmp_path / "d", tmp_path / "d" / "f.png")
    assert overwrites(tmp_path / "d", tmp_path / "d" / "f.png", out_is_folder=True)
    assert not overwrites(tmp_path / "d", tmp_path / "d" / "f.png")  # an mp4 named d: it replaces no file in d
    assert not overwrites(tmp_path / "d" / "out", tmp_path / "d", out_is_folder=True)  # a new sub-folder
