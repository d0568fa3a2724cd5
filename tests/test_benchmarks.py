"""The benchmark scripts still run (tiny inputs; nothing is timed here: speed lives in the scripts)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _run(script: str, *args: str) -> str:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([sys.executable, str(REPO / "benchmarks" / script), *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout + proc.stderr


def test_bench_hypercon_runs():
    out = _run("bench_hypercon.py", "--frames", "3", "--size", "96x64", "--num-inserted", "1", "--window", "3")
    assert "translation" in out and "pooling" in out


def test_bench_metrics_runs():
    out = _run("bench_metrics.py", "--frames", "3", "--width", "96", "--height", "64", "--metrics", "ewarp,cpsnr")
    assert "metric ewarp" in out and "source motion" in out


def test_bench_flow_runs(shared_dir):
    out = _run("bench_flow.py", "--data", str(shared_dir / "data" / "middlebury-flow"),
               "--estimators", "dis_ultrafast", "--repeat", "1")
    assert "dis_ultrafast" in out


def test_bench_baselines_runs():
    out = _run("bench_baselines.py", "--model", "flicker", "--size", "48x32", "--frames", "3", "--repeat", "1",
               "--dvp-size", "32x32", "--dvp-frames", "2", "--dvp-epochs", "1", "--vinet-size", "64",
               "--vinet-frames", "2")
    assert "frame-wise + vcons" in out and "DVP (1 epochs" in out
    assert "HyperCon inpainting" in out and "VINet (random weights, tier test; 4 steps)" in out


def test_bench_apply_runs():
    out = _run("bench_apply.py", "--frames", "3", "--size", "96x64", "--model", "flicker")
    assert "apply (streaming)" in out and "peak RSS (GB)" in out


def test_bench_survey_load_survives_kill():
    out = _run("bench_survey.py", "--load", "--workers", "8", "--tasks", "6", "--responses", "2", "--kill-after", "4",
               "--max-seconds", "60")
    assert "requests/s" in out and "p99" in out and "12 stored (12 wanted); OK" in out


@pytest.mark.parametrize("script", ["bench_hypercon.py", "bench_metrics.py", "bench_flow.py", "bench_baselines.py",
                                    "bench_apply.py", "bench_survey.py"])
def test_bench_help(script):
    assert "usage" in _run(script, "--help").lower()
