"""Fault injection (issue 11, "Done when"): seeded kills at random points of runs, sweeps and the metrics CLI,
corrupt cache entries and records, an output that cannot be written, concurrent jobs on one cache. In every
case no complete-looking result is wrong and every finished result is intact: each readable record, results
file and cache entry agrees with an uninterrupted run, and a rerun completes with exactly its numbers.

Tiny synthetic videos (3 videos, 4 frames, 32x48, frame-wise method) keep the whole file well under 90 s.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from experiments.store import read_json

REPO = Path(__file__).resolve().parents[1]
TINY = ["dataset.num_videos=3", "dataset.num_frames=4", "dataset.height=32", "dataset.width=48",
        "save_video=false", "method=framewise"]
SWEEP = ["-m", "sweep_name=faults", "model=kmeans_palette,flicker", *TINY]
SEED = 11


def env() -> dict[str, str]:
    out = {k: v for k, v in os.environ.items() if k not in ("HYDRA_FULL_ERROR", "HYPERCON_VERBOSE")}
    out["PYTHONPATH"] = str(REPO)
    return out


def start(args: list[str], module: str | None = None) -> subprocess.Popen:
    command = [sys.executable, "-m", module] if module else [sys.executable, "run.py"]
    return subprocess.Popen([*command, *args], cwd=REPO, env=env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)


def finish(args: list[str], module: str | None = None) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", module] if module else [sys.executable, "run.py"]
    return subprocess.run([*command, *args], cwd=REPO, env=env(), capture_output=True, text=True, timeout=300)


def kill_after(proc: subprocess.Popen, seconds: float) -> bool:
    """SIGKILL ``proc`` after ``seconds`` unless it ended; True if it was killed."""
    try:
        proc.wait(timeout=seconds)
        return False
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        return True


def per_video(results: dict) -> dict[str, dict]:
    return {row["video"]: row["metrics"] for row in results["videos"]}


def job_dirs(root: Path) -> dict[str, Path]:
    return {p.parent.name: p.parent for p in root.rglob("provenance.json")}


def assert_intact(run_dir: Path, reference: dict[str, dict], cache: Path | None = None) -> None:
    """Whatever a (killed) run left: readable, and every complete-looking thing equals ``reference``."""
    for record_path in run_dir.glob("videos/*/metrics.json"):
        record = read_json(record_path)  # atomic: never half-written
        if record.get("complete"):
            assert record["metrics"] == reference[record["video"]], record_path
    if (run_dir / "results.json").exists():
        results = read_json(run_dir / "results.json")
        assert per_video(results) == {v: reference[v] for v in per_video(results)}
        if results["complete"]:
            assert per_video(results) == reference
    if cache is not None:
        for entry in cache.rglob("*.np[yz]"):
            np.load(entry, allow_pickle=False)  # atomic writes: every entry is whole


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> dict:
    """Uninterrupted run and sweep: the numbers every interrupted one must end with."""
    root = tmp_path_factory.mktemp("reference")
    run = finish([f"hydra.run.dir={root / 'run'}", f"paths.output_root={root}", *TINY])
    assert run.returncode == 0, run.stderr
    sweep = finish([*SWEEP, f"paths.output_root={root}"])
    assert sweep.returncode == 0, sweep.stderr
    jobs = {name: per_video(read_json(d / "results.json")) for name, d in job_dirs(root / "sweeps" / "faults").items()}
    return {"run": per_video(read_json(root / "run" / "results.json")), "sweep": jobs, "root": root}


def test_seeded_kills_of_a_run_then_resume(tmp_path, reference):
    rng = random.Random(SEED)
    out, cache = tmp_path / "run", tmp_path / "cache"
    args = [f"hydra.run.dir={out}", f"paths.output_root={tmp_path}", f"paths.cache_dir={cache}", *TINY]
    for _ in range(2):
        kill_after(start(args), rng.uniform(2.0, 4.0))  # startup ≈ 2 s, then ≈ 0.4 s per video
        assert_intact(out, reference["run"], cache)
    done = finish(args)
    assert done.returncode == 0, done.stderr
    results = read_json(out / "results.json")
    assert results["complete"] and per_video(results) == reference["run"]


def test_seeded_kills_of_a_sweep_then_resume(tmp_path, reference):
    rng = random.Random(SEED + 1)
    args = [*SWEEP, f"paths.output_root={tmp_path}"]
    for _ in range(2):
        kill_after(start(args), rng.uniform(2.0, 5.0))
        for name, job in job_dirs(tmp_path / "sweeps" / "faults").items():
            assert_intact(job, reference["sweep"][name], tmp_path / "cache")
    done = finish(args)
    assert done.returncode == 0, done.stderr
    jobs = job_dirs(tmp_path / "sweeps" / "faults")
    assert sorted(jobs) == sorted(reference["sweep"])
    for name, job in jobs.items():
        results = read_json(job / "results.json")
        assert results["complete"] and per_video(results) == reference["sweep"][name]


def test_seeded_kills_of_the_metrics_cli(tmp_path, reference):
    rng = random.Random(SEED + 2)
    source = reference["root"] / "run"
    out, cache = tmp_path / "m.json", tmp_path / "mcache"
    args = ["--pred", str(source / "videos"), "--source", str(source / "inputs"), "--metrics", "ewarp",
            "--cache", str(cache), "--out", str(out)]
    for _ in range(2):
        kill_after(start(args, module="metrics"), rng.uniform(1.0, 3.0))
        if out.exists():  # written whole, or not at all
            assert per_video(json.loads(out.read_text())) == reference["run"]
        for entry in cache.rglob("*.npz"):
            np.load(entry, allow_pickle=False)
    done = finish(args, module="metrics")
    assert done.returncode == 0, done.stderr
    assert per_video(json.loads(out.read_text())) == reference["run"]


def copy_reference_run(reference: dict, tmp_path: Path) -> tuple[Path, Path]:
    """A finished run (and its cache) to damage, copied from the reference: no run needed."""
    out, cache = tmp_path / "run", tmp_path / "cache"
    shutil.copytree(reference["root"] / "run", out)
    shutil.copytree(reference["root"] / "cache", cache)
    return out, cache


def test_corrupt_cache_entries_and_records_are_recomputed(tmp_path, reference):
    rng = random.Random(SEED + 3)
    out, cache = copy_reference_run(reference, tmp_path)
    args = [f"hydra.run.dir={out}", f"paths.output_root={tmp_path}", f"paths.cache_dir={cache}", *TINY]
    damaged = sorted([*cache.rglob("*.npz"), *out.glob("videos/*/metrics.json")])
    assert len(damaged) >= 6
    for i, path in enumerate(damaged):  # truncated, garbage of the same size, empty: in turn
        data = path.read_bytes()
        path.write_bytes([data[: rng.randrange(1, len(data))], bytes(rng.randrange(256) for _ in data), b""][i % 3])
    (out / "results.json").write_bytes(b'{"complete": tru')  # a torn aggregate too
    done = finish(args)
    assert done.returncode == 0, done.stderr
    results = read_json(out / "results.json")
    assert results["complete"] and per_video(results) == reference["run"]
    assert_intact(out, reference["run"], cache)


def test_unwritable_output_changes_nothing(tmp_path, reference):
    blocker = tmp_path / "file"
    blocker.write_text("")
    proc = finish([f"paths.output_root={blocker / 'out'}", f"paths.cache_dir={tmp_path / 'c'}", *TINY])
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]  # nothing started
    # the metrics CLI: its --out cannot be written → one line, status 2, nothing else written
    source = reference["root"] / "run"
    proc = finish(["--pred", str(source / "videos"), "--source", str(source / "inputs"), "--metrics", "ewarp",
                   "--out", str(blocker / "r.json")], module="metrics")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    # a finished run whose folder then cannot be written: a rerun fails on that video, the others finish,
    # and the complete aggregate is kept
    out, cache = copy_reference_run(reference, tmp_path)
    args = [f"hydra.run.dir={out}", f"paths.output_root={tmp_path}", f"paths.cache_dir={cache}", *TINY]
    before = (out / "results.json").read_bytes()
    (out / "videos" / "synth-001" / "frames").rename(tmp_path / "moved")
    (out / "videos" / "synth-001" / "frames").write_text("a file where the frames go")
    proc = finish([*args, "overwrite=true"])
    assert proc.returncode == 2 and "1 of 3 video(s) failed" in proc.stderr and "Traceback" not in proc.stderr
    assert (out / "results.json").read_bytes() == before  # a failed run never replaces a complete aggregate
    assert_intact(out, reference["run"])


def test_concurrent_jobs_on_one_cache(tmp_path, reference):
    cache = tmp_path / "cache"
    runs = [tmp_path / "a", tmp_path / "b", tmp_path / "a"]  # two into the same folder, one beside
    procs = [start([f"hydra.run.dir={r}", f"paths.output_root={tmp_path}", f"paths.cache_dir={cache}", *TINY])
             for r in runs]
    outcomes = []
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        outcomes.append((proc.returncode, err))
    for run_dir, (code, err) in zip(runs, outcomes):  # issue 26 item 8: one run per folder at a time
        if code != 0:  # the folder's lock was held by the other run: one line naming it, nothing lost
            last = [line for line in err.splitlines() if line.strip()][-1]
            assert code == 2 and f"{run_dir} is in use by another run" in last, err
    assert outcomes[1][0] == 0 and 0 in (outcomes[0][0], outcomes[2][0])
    for run_dir in set(runs):
        results = read_json(run_dir / "results.json")
        assert results["complete"] and per_video(results) == reference["run"]
        assert_intact(run_dir, reference["run"], cache)
    assert len(list((cache / "source_motion").rglob("*.npz"))) == 3
