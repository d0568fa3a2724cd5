"""Issue 26 item 1: nothing read from a results folder is instantiated, imported or unpickled. The viewer's
source panel comes from the run's saved inputs, or from the CURRENT config of a dataset the user names
(``--dataset NAME``); otherwise the page says why it is missing."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from hydra import compose, initialize_config_dir
from PIL import Image

import experiments.hydra_setup  # noqa: F401
from experiments.runner import run
from experiments.viewer import build_site
from experiments.viewer.__main__ import main as viewer_main

REPO = Path(__file__).resolve().parents[1]
DATASET = ["dataset.num_videos=1", "dataset.num_frames=3", "dataset.height=16", "dataset.width=24"]
TINY = [*DATASET, "save_video=false", "metrics.names=[]", "method=framewise"]


@pytest.fixture(scope="module")
def saved_run(tmp_path_factory) -> Path:
    """A frame-wise run of one tiny synthetic video, with its saved inputs."""
    root = tmp_path_factory.mktemp("results")
    with initialize_config_dir(config_dir=str(REPO / "conf"), version_base="1.3"):
        cfg = compose(config_name="config", overrides=[*TINY, f"paths.output_root={root}"])
    run(cfg, root / "run")
    return root / "run"


def crafted(saved_run: Path, tmp_path: Path, payload: Path) -> Path:
    """A copy of ``saved_run`` without its inputs, whose recorded dataset config would write ``payload``."""
    run_dir = tmp_path / "crafted"
    shutil.copytree(saved_run, run_dir)
    shutil.rmtree(run_dir / "inputs")
    results = json.loads((run_dir / "results.json").read_text())
    results["provenance"]["config"]["dataset"] = {
        "_target_": "builtins.dict", "name": "synthetic",
        "x": {"_target_": "builtins.open", "file": str(payload), "mode": "w"}}
    (run_dir / "results.json").write_text(json.dumps(results))
    return run_dir


def page_of(site: Path) -> str:
    return next(site.glob("*/*/*/index.html")).read_text()


def test_viewer_never_instantiates_the_recorded_dataset_config(saved_run, tmp_path):
    payload = tmp_path / "pwned"
    build_site([crafted(saved_run, tmp_path, payload)], tmp_path / "site")
    assert not payload.exists()
    html = page_of(tmp_path / "site")
    assert 'data-panel="src"' not in html and "source omitted" in html and "--dataset" in html


def test_report_viewer_never_instantiates_the_recorded_dataset_config(saved_run, tmp_path):
    from experiments.report import main as report_main

    payload = tmp_path / "pwned"
    assert report_main([str(crafted(saved_run, tmp_path, payload)), "--viewer", "--out", str(tmp_path / "r")]) == 0
    assert not payload.exists()


def test_source_panel_from_the_dataset_named_on_the_command_line(saved_run, tmp_path):
    payload = tmp_path / "pwned"
    run_dir = crafted(saved_run, tmp_path, payload)
    overrides = [f"--dataset-override={o.partition('.')[2]}" for o in DATASET]
    assert viewer_main([str(run_dir), "--out", str(tmp_path / "site"), "--dataset", "synthetic", "--quality", "95",
                        *overrides]) == 0
    assert not payload.exists()
    saved = np.asarray(Image.open(saved_run / "inputs" / "synth-000" / "frames" / "00002.png")).astype(np.float64)
    shown = np.asarray(Image.open(next((tmp_path / "site").glob("*/*/*/src/00002.jpg")))).astype(np.float64)
    assert np.abs(shown - saved).mean() < 4.0  # the synthetic video, rebuilt from the current config (JPEG)


def test_a_named_dataset_of_another_name_is_not_used(saved_run, tmp_path):
    run_dir = crafted(saved_run, tmp_path, tmp_path / "pwned")
    assert viewer_main([str(run_dir), "--out", str(tmp_path / "site"), "--dataset", "folder",
                        f"--dataset-override=root={tmp_path}"]) == 0
    html = page_of(tmp_path / "site")
    assert 'data-panel="src"' not in html and "synthetic" in html and "folder" in html


def test_a_bad_dataset_name_is_one_line(saved_run, tmp_path, capsys):
    assert viewer_main([str(saved_run), "--out", str(tmp_path / "site"), "--dataset", "nosuch"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "nosuch" in err[0]
