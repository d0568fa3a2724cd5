"""Sweeps end to end: the joblib and submitit_local launchers, a killed grid search that resumes without
recomputing finished jobs, the report and the notebook on the result; launcher presets; GPU per job."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir

import experiments.hydra_setup  # noqa: F401  (resolvers + schemas)
from experiments.devices import hydra_job_num, job_device
from experiments.store import read_json

REPO = Path(__file__).resolve().parents[1]
TINY = ["dataset=synthetic", "dataset.num_videos=1", "dataset.num_frames=4", "dataset.height=24",
        "dataset.width=32", "save_video=false", "progress=false"]


def _env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("HYPERCON_WEIGHTS", None)
    env.update({"OMP_NUM_THREADS": "1", "HYPERCON_CACHE": str(tmp_path / "cache"),
                "TORCH_HOME": str(tmp_path / "torch_home"), "PYTHONUNBUFFERED": "1"})
    return env


def _command(tmp_path: Path, *overrides: str) -> list[str]:
    return [sys.executable, "run.py", "-m", f"paths.output_root={tmp_path / 'out'}", *TINY, *overrides]


def _run(tmp_path: Path, *overrides: str, timeout: float = 120) -> subprocess.CompletedProcess:
    proc = subprocess.run(_command(tmp_path, *overrides), cwd=REPO, env=_env(tmp_path), capture_output=True,
                          text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    return proc


def _jobs(sweep: Path) -> dict[str, Path]:
    return {p.parent.name: p for p in sorted(sweep.glob("*/results.json"))}


@pytest.mark.slow
@pytest.mark.parametrize("launcher", ["joblib", "submitit_local"])
def test_launcher_runs_a_two_job_sweep(tmp_path, launcher):
    extra = ["hydra.launcher.n_jobs=2"] if launcher == "joblib" else ["hydra.launcher.timeout_min=5"]
    _run(tmp_path, f"hydra/launcher={launcher}", *extra, "method=framewise", "model=identity", "metrics=none",
         f"sweep_name={launcher}", "seed=0,1")
    jobs = _jobs(tmp_path / "out" / "sweeps" / launcher)
    assert len(jobs) == 2, list((tmp_path / "out" / "sweeps" / launcher).iterdir())
    for path in jobs.values():
        results = read_json(path)
        assert results["complete"] and results["num_videos"] == 1
    assert {read_json(p)["provenance"]["seed"] for p in jobs.values()} == {0, 1}


GRID = ["+experiment=gridsearch_style", "metrics=default", "method.num_inserted=1",
        "method.window=3,5,7", "method.dilation=1"]


@pytest.fixture(scope="module")
def resumed_sweep(tmp_path_factory):
    """A 3-job grid search killed once the first job has finished, then relaunched."""
    tmp_path = tmp_path_factory.mktemp("grid")
    sweep = tmp_path / "out" / "sweeps" / "gridsearch_style"
    proc = subprocess.Popen(_command(tmp_path, *GRID), cwd=REPO, env=_env(tmp_path), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 120
    try:
        while not _jobs(sweep) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # our own child's process group only
        proc.wait()
    first = _jobs(sweep)
    assert len(first) == 1, f"expected the sweep to be killed after its first job, found {list(first)}"
    (name, path), = first.items()
    assert read_json(path)["complete"]
    records = {p: p.stat().st_mtime_ns for p in path.parent.glob("videos/*/metrics.json")}
    assert records
    relaunch = _run(tmp_path, *GRID)
    return {"sweep": sweep, "first": name, "records": records, "log": relaunch.stdout + relaunch.stderr}


@pytest.mark.slow
def test_killed_sweep_resumes_without_recomputing(resumed_sweep):
    jobs = _jobs(resumed_sweep["sweep"])
    assert len(jobs) == 3  # the command line's method.window=3,5,7 replaced the experiment's axis
    assert all(read_json(p)["complete"] for p in jobs.values())
    assert {read_json(p)["provenance"]["config"]["method"]["window"] for p in jobs.values()} == {3, 5, 7}
    for record, mtime in resumed_sweep["records"].items():
        assert record.stat().st_mtime_ns == mtime, f"{record} was recomputed"
    assert "complete, skipped" in resumed_sweep["log"]
    first_log = (resumed_sweep["sweep"] / resumed_sweep["first"] / "run.log").read_text()
    assert "complete, skipped" in first_log


@pytest.mark.slow
def test_report_and_notebook_on_the_resumed_sweep(resumed_sweep, tmp_path, capsys, monkeypatch):
    from experiments.report import main

    sweep = resumed_sweep["sweep"]
    assert main([str(sweep), "--out", str(tmp_path / "report")]) == 0
    out = capsys.readouterr().out
    assert out.startswith("**Grid search") and out.count("★") == 2  # the selected row + the legend
    assert "FID is not available, the fidelity proxy fidelity_psnr stands in" in out
    selection = read_json(tmp_path / "report" / "selection.json")["selections"][0]
    assert selection["proxy"] and selection["selected"]["c"] in (3, 5, 7)
    assert (tmp_path / "report" / "grid_dataset_synthetic_task_style_model_kmeans_palette.png").is_file()

    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    sys.path.insert(0, str(REPO / "notebooks"))
    try:
        from build_notebook import build
    finally:
        sys.path.remove(str(REPO / "notebooks"))
    committed = nbformat.read(REPO / "notebooks" / "results.ipynb", as_version=4)
    generated = build((REPO / "notebooks" / "results.py").read_text())
    assert [(c.cell_type, c.source) for c in committed.cells] == [(c.cell_type, c.source) for c in generated.cells]
    monkeypatch.setenv("HYPERCON_RESULTS", str(sweep))  # read by the notebook's kernel
    monkeypatch.setenv("HYPERCON_REPORT", str(tmp_path / "nb"))
    nbclient.NotebookClient(committed, timeout=120, kernel_name="python3",
                            resources={"metadata": {"path": str(REPO)}}).execute()
    outputs = [o for c in committed.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert any("image/png" in o.get("data", {}) for o in outputs)
    assert any("★" in o.get("data", {}).get("text/markdown", "") for o in outputs)


def _hydra_cfg(*overrides: str):
    with initialize_config_dir(config_dir=str(REPO / "conf"), version_base="1.3"):
        return compose(config_name="config", overrides=list(overrides), return_hydra_config=True)


def test_launcher_presets_and_experiment_axes_compose():
    assert _hydra_cfg("hydra/launcher=local").hydra.launcher._target_.endswith("BasicLauncher")
    joblib = _hydra_cfg("hydra/launcher=joblib_cpu").hydra.launcher
    assert joblib._target_.endswith("JoblibLauncher") and joblib.n_jobs == 2
    slurm = _hydra_cfg("hydra/launcher=slurm").hydra.launcher
    assert slurm._target_.endswith("SlurmLauncher") and slurm.gpus_per_task == 1
    assert slurm.array_parallelism > 0 and slurm.timeout_min > 0 and "partition" in slurm and slurm.setup
    grid = _hydra_cfg("+experiment=gridsearch_style")
    assert grid.sweep_name == "gridsearch_style" and grid.method.name == "hypercon"
    assert set(grid.hydra.sweeper.params) == {"method.num_inserted", "method.window", "method.dilation"}
    t1 = _hydra_cfg("+experiment=table1_style")
    assert t1.hydra.sweeper.params.method == "framewise,vcons,hypercon" and t1.task.name == "style"
    t2 = _hydra_cfg("+experiment=table2_inpaint", "model=opencv_inpaint")
    assert t2.task.name == "inpaint" and "hypercon_median" in t2.hydra.sweeper.params.method


def test_blind_baselines_experiment_compares_five_methods_on_the_dev_test_sequences():
    from baselines.common.split import load_split
    from experiments.tables import TABLES

    cfg = _hydra_cfg("+experiment=blind_baselines")
    params = cfg.hydra.sweeper.params
    assert params.method.split(",") == ["framewise", "vcons", "dvp", "dvp_irt", "hypercon"]
    assert set(params["style"].split(",")).isdisjoint({"wave", "wreck"})  # vcons trained on these
    assert cfg.model.name == "fst_engstrom" and cfg.task.name == "style" and cfg.dataset.name == "davis2016"
    assert list(cfg.dataset.sequences) == list(load_split().test)  # the development split's test videos
    assert "fid" in cfg.metrics.optional and "saturation" in cfg.metrics.names
    for method in ("dvp", "dvp_irt"):
        assert cfg.method_settings[method].epochs == 10 and list(cfg.method_settings[method].size) == [416, 240]
    spec = TABLES["blind_baselines"]
    assert spec.metrics[-1] == "saturation_ratio" and not spec.auto and spec.task == "style"


def test_new_tasks_experiment_sweeps_tasks_and_methods_on_the_dev_test_sequences():
    from baselines.common.split import load_split

    cfg = _hydra_cfg("+experiment=new_tasks")
    params = cfg.hydra.sweeper.params
    assert params.task.split(",") == ["colorize", "sr2x", "vseg"]
    assert params.method.split(",") == ["framewise", "hypercon", "vcons", "dvp", "wei_v2v_video2video",
                                        "wei_v2v_local", "wei_v2v"]
    assert list(cfg.dataset.sequences) == list(load_split().test)  # no network trained here saw them
    vseg = _hydra_cfg("+experiment=new_tasks", "task=vseg", "method=hypercon")
    assert vseg.method.align_on == "input" and vseg.model.name == "wei_image2image" and vseg.dataset.masks == "object"
    local = _hydra_cfg("+experiment=new_tasks", "task=sr2x", "method=wei_v2v_local")
    assert local.method.variant == "local" and local.method.task == "sr2x"


def test_job_device_spreads_multirun_jobs_over_gpus():
    assert job_device("cuda", 3, num_gpus=2) == "cuda:1"
    assert job_device("cuda", 4, num_gpus=2) == "cuda:0"
    assert job_device("cuda", None, num_gpus=4) == "cuda"  # single run
    assert job_device("cuda", 5, num_gpus=1) == "cuda"  # one GPU (e.g. a SLURM task)
    assert job_device("cuda:1", 5, num_gpus=4) == "cuda:1"  # explicit index wins
    assert job_device("cpu", 5, num_gpus=4) == "cpu"
    with pytest.raises(ValueError, match="job_num"):
        job_device("cuda", -1, num_gpus=2)
    assert hydra_job_num() is None  # outside a Hydra job


@pytest.mark.slow
def test_a_method_with_missing_weights_is_recorded_unavailable_and_the_sweep_goes_on(tmp_path):
    """Offline, a sweep job whose paper-tier weights are missing is stored as `status: unavailable` with the
    reason; the other jobs run, the sweep exits 0, and the report shows that row as unavailable everywhere."""
    from experiments.report import report

    proc = _run(tmp_path, "task=inpaint", "method=framewise,vcons,vinet", "+method_settings.vcons.checkpoint=paper",
                "metrics.names=[ewarp,hole_colour]", "sweep_name=missing", f"paths.weights_dir={tmp_path / 'none'}")
    jobs = _jobs(tmp_path / "out" / "sweeps" / "missing")
    assert len(jobs) == 3
    records = {name.split("method=")[-1].split(",")[0]: read_json(p) for name, p in jobs.items()}
    assert records["vinet"]["status"] == "unavailable" and "save_agg_rec_512.pth" in records["vinet"]["reason"]
    assert records["vinet"]["provenance"]["method"]["label"] == "VINet"
    assert records["framewise"]["complete"]
    missing = records["vcons"]
    assert missing["status"] == "unavailable" and "ECCV18_blind_consistency.pth" in missing["reason"]
    assert missing["reason"].startswith("weights missing:") and "\n" not in missing["reason"]
    assert "unavailable (weights missing)" in proc.stdout + proc.stderr
    text, _ = report(tmp_path / "out" / "sweeps" / "missing", "table2", "md")
    row = next(line for line in text.splitlines() if line.startswith("|") and "vcons" in line)
    cells = [c.strip() for c in row.strip("|").split("|")[2:]]
    assert cells and all(c == "unavailable" for c in cells)  # every column of that row, never a number
    assert "unavailable: vcons: weights missing:" in text
    assert "INCOMPLETE" not in text and "no metrics" not in text  # an unavailable job is neither
    assert "unavailable: VINet: weights missing:" in text and "not available: VINet" not in text
    # once the file is there, the same sweep command runs the job: the record holds no results to protect
    from experiments.store import RunStore

    assert RunStore(jobs[next(n for n in jobs if "method=vcons" in n)].parent).previous_config() is None
