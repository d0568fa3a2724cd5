"""Issue 26 item 8: two runs into one run folder at once. The run folder is locked (``fcntl.flock`` on
``<folder>/.run.lock``) for the whole run; a second run while it is held stops in one line naming the folder
and writes nothing."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir

import experiments.hydra_setup  # noqa: F401
from experiments.run_lock import LOCK_NAME, RunFolderBusy, run_folder_lock
from experiments.runner import run

REPO = Path(__file__).resolve().parents[1]
TINY = ["dataset.num_videos=1", "dataset.num_frames=3", "dataset.height=16", "dataset.width=24", "save_video=false",
        "metrics.names=[]", "method=framewise"]


def test_second_lock_on_a_held_folder_stops_naming_the_folder(tmp_path):
    with run_folder_lock(tmp_path / "run"):
        with pytest.raises(RunFolderBusy, match=str(tmp_path / "run")), run_folder_lock(tmp_path / "run"):
            pass
    with run_folder_lock(tmp_path / "run"):  # released at the end of the first: free again
        pass


def test_a_run_into_a_folder_another_process_holds_stops_before_writing(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    holder = subprocess.Popen([sys.executable, "-c", (
        "import fcntl, os, sys, time\n"
        f"fd = os.open({str(out / LOCK_NAME)!r}, os.O_RDWR | os.O_CREAT, 0o644)\n"
        "fcntl.flock(fd, fcntl.LOCK_EX)\nprint('held', flush=True)\ntime.sleep(60)\n")],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with initialize_config_dir(config_dir=str(REPO / "conf"), version_base="1.3"):
            cfg = compose(config_name="config", overrides=[*TINY, f"paths.output_root={tmp_path}"])
        with pytest.raises(RunFolderBusy) as caught:
            run(cfg, out)
        assert str(out) in str(caught.value) and "\n" not in str(caught.value)
        assert sorted(p.name for p in out.iterdir()) == [LOCK_NAME]  # nothing of the run was written
    finally:
        holder.kill()
        holder.wait()
    assert run(cfg, out)["complete"]  # once the other run is gone, the folder is free


def test_the_lock_is_an_os_lock_held_during_the_run(tmp_path, monkeypatch):
    """While ``run`` works, another process cannot take the folder's lock (checked from inside the run)."""
    seen = []

    def probe():
        fd = os.open(tmp_path / "run" / LOCK_NAME, os.O_RDWR)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            seen.append("free")
        except BlockingIOError:
            seen.append("held")
        finally:
            os.close(fd)

    with initialize_config_dir(config_dir=str(REPO / "conf"), version_base="1.3"):
        cfg = compose(config_name="config", overrides=[*TINY, f"paths.output_root={tmp_path}"])
    import experiments.runner as runner

    original = runner.run_video

    def run_video(job, video):
        probe()  # flock locks are per open file description: a second open in this process conflicts too
        return original(job, video)

    monkeypatch.setattr(runner, "run_video", run_video)
    run(cfg, tmp_path / "run")
    assert seen == ["held"]


def test_run_py_into_a_held_folder_exits_2_with_one_line(tmp_path):
    out = tmp_path / "run"
    with run_folder_lock(out):
        env = {k: v for k, v in os.environ.items() if k not in ("HYDRA_FULL_ERROR", "HYPERCON_VERBOSE")}
        proc = subprocess.run([sys.executable, "run.py", *TINY, f"hydra.run.dir={out}", f"paths.output_root={tmp_path}"],
                              cwd=REPO, env={**env, "PYTHONPATH": str(REPO)}, capture_output=True, text=True,
                              timeout=300)
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert proc.returncode == 2 and len(lines) == 1, proc.stderr
    assert f"{out} is in use by another run (pid {os.getpid()})" in lines[0]
    assert not (out / "provenance.json").exists() and not (out / "results.json").exists()
