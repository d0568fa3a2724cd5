"""No network trained in this project is evaluated on a video it saw: the runner refuses such a run before
any work, and the report refuses such a result (one written by an older version or by hand)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import yaml
from hydra import compose, initialize_config_dir

import experiments.hydra_setup  # noqa: F401
from baselines.common.split import SplitViolation, load_split
from experiments.collect import collect
from experiments.runner import run
from experiments.store import atomic_write_json
from experiments.tables import build_table, render_markdown

REPO = Path(__file__).resolve().parents[1]

TRAINED_MODEL = '''
from hypercon.models.base import ImageModel


class TrainedIdentity(ImageModel):
    """Stands in for a network trained here on synth-000 (its sidecar's trained_on)."""
    name = "trained_identity"
    tier = "trained-here"

    def __init__(self, trained_on=("synth-000",)):
        self._weights_record = {"file": "trained_identity.pt", "sha256": "0" * 64, "trained_on": list(trained_on),
                                "steps": 10}

    def translate_batch(self, frames, known):
        return frames
'''


def _trained_job(root: Path, name: str, videos: list[str], trained_on: list[str]) -> None:
    model = {"name": "trained_identity", "tier": "trained-here",
             "weights": {"file": "ckpt.pt", "sha256": "0" * 64, "trained_on": trained_on}}
    provenance = {"config_hash": name, "config": {"method": {"name": "framewise"}, "dataset": {"name": "davis2016"},
                                                  "task": {"name": "style"}, "model": {"name": "trained_identity"}},
                  "method": {"name": "framewise", "tier": "trained-here", "label": "Trained (frame-wise)",
                             "axes": {}, "is_reference": True, "table_rank": 0, "components": {"model": model}},
                  "metrics": {"ewarp": {"name": "ewarp"}}}
    records = [{"video": v, "metrics": {"ewarp": 0.01 + i * 0.01}, "complete": True, "config_hash": name}
               for i, v in enumerate(videos)]
    atomic_write_json(root / name / "results.json", {
        "complete": True, "num_videos": len(records), "videos": records,
        "aggregate": {"ewarp": {"mean": 0.015, "sem": 0.005, "n": len(records)}}, "set_metrics": {},
        "unavailable": {}, "provenance": provenance})


def test_report_refuses_a_result_on_a_video_its_checkpoint_saw(tmp_path):
    split = load_split("davis2016_dev")
    train, test = split.train[:2], split.test[:2]
    _trained_job(tmp_path, "on_train", list(train), trained_on=list(split.train))
    _trained_job(tmp_path, "on_test", list(test), trained_on=list(split.train))
    collection = collect(tmp_path)
    jobs = collection.jobs.set_index("job")
    assert train[0] in jobs.loc["on_train", "refused"] and "ckpt.pt" in jobs.loc["on_train", "refused"]
    assert not isinstance(jobs.loc["on_test", "refused"], str)
    table = build_table(collection, "table1")
    rows = {row.jobs[0]: row for _, rows in table.blocks for row in rows}
    refused = rows["on_train"].cells[(None, "ewarp")]
    assert refused.status == "refused" and refused.text == "refused" and refused.mean is None
    assert rows["on_test"].cells[(None, "ewarp")].status == "value"
    md = render_markdown(table)
    assert "REFUSED: on_train" in md and "Trained (frame-wise) †" in md and "† trained-here" in md


def test_runner_refuses_before_any_work(tmp_path, monkeypatch):
    pkg = tmp_path / "src" / "toytrained"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text(textwrap.dedent(TRAINED_MODEL))
    conf = tmp_path / "conf" / "model"
    conf.mkdir(parents=True)
    (conf / "trained_identity.yaml").write_text(yaml.safe_dump({"_target_": "toytrained.TrainedIdentity",
                                                                "name": "trained_identity"}))
    monkeypatch.syspath_prepend(str(tmp_path / "src"))
    with initialize_config_dir(config_dir=str(REPO / "conf"), version_base="1.3"):
        cfg = compose(config_name="config", overrides=[
            f"hydra.searchpath=[file://{tmp_path / 'conf'}]", "model=trained_identity", "method=framewise",
            "dataset.num_videos=2", "dataset.num_frames=3", "dataset.height=32", "dataset.width=48",
            f"paths.output_root={tmp_path / 'out'}"])
    with pytest.raises(SplitViolation, match="synth-000"):
        run(cfg, tmp_path / "out" / "run")
    assert not (tmp_path / "out" / "run" / "videos").exists() and not (tmp_path / "out" / "run" / "results.json").exists()
