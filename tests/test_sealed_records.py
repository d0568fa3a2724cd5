"""Issue 26 items 4 and 6: a record is trusted only as written, and only for the model files it was made
with.

* Every per-video record (``videos/<v>/metrics.json``), ``results.json`` and ``provenance.json`` carries a
  digest over its values, inputs and config (:func:`experiments.store.seal`). A rerun recomputes a record
  that fails it (a warning names the file); a record without one (written before records were sealed) is
  recomputed too. The aggregate is always recomputed from verified records, in the runner and in
  :func:`experiments.collect.load_job` (a report never shows a hand-edited value; it says which record failed).
* The sha256 of every file a model loaded (TorchScript, ONNX, ``checkpoint=PATH``, user weights) is part of
  the resume key: a file replaced at the same path is recomputed, not "complete, skipped".
"""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path

import pytest
import torch
from hydra import compose, initialize_config_dir

import experiments.hydra_setup  # noqa: F401
from experiments.collect import collect, load_job
from experiments.runner import run
from experiments.store import RunStore, read_json, seal, seal_state

REPO = Path(__file__).resolve().parents[1]
TINY = ["dataset.num_videos=2", "dataset.num_frames=3", "dataset.height=16", "dataset.width=24", "save_video=false",
        "metrics.names=[ewarp]", "method=framewise"]
FORGED = 1e-9


def cfg_for(tmp_path: Path, *overrides: str):
    with initialize_config_dir(config_dir=str(REPO / "conf"), version_base="1.3"):
        return compose(config_name="config", overrides=[*TINY, f"paths.output_root={tmp_path}", *overrides])


def forge(path: Path, video: str | None = None) -> None:
    """Edit E_warp by hand, as the issue's careless (or hostile) colleague did, keeping the JSON valid."""
    data = json.loads(path.read_text())
    rows = [data] if video is None else [r for r in data["videos"] if r["video"] == video]
    for row in rows:
        row["metrics"]["ewarp"] = FORGED
    if video is not None:
        data["aggregate"]["ewarp"]["mean"] = FORGED
    path.write_text(json.dumps(data))


def ewarp(results: dict) -> dict[str, float]:
    return {r["video"]: r["metrics"]["ewarp"] for r in results["videos"]}


def test_seal_round_trips_through_the_json_store_and_detects_an_edit(tmp_path):
    import numpy as np

    record = {"metrics": {"a": np.float32(0.1), "b": float("nan"), "c": float("inf")}, "size": (3, 4), "p": tmp_path}
    RunStore(tmp_path).save_record("v", record)  # sealed on write
    stored = read_json(RunStore(tmp_path).record_path("v"))
    assert seal_state(stored) == "verified"
    stored["metrics"]["a"] = 0.2
    assert seal_state(stored) == "tampered"
    del stored["digest"]
    assert seal_state(stored) == "unsealed"
    assert seal_state(seal(stored)) == "verified"


def test_a_hand_edited_record_is_recomputed_with_a_warning_naming_it(tmp_path, caplog):
    out = tmp_path / "run"
    first = run(cfg_for(tmp_path), out)
    record = RunStore(out).record_path("synth-000")
    forge(record)
    forge(out / "results.json", "synth-000")
    with caplog.at_level(logging.WARNING):
        again = run(cfg_for(tmp_path), out)
    assert str(record) in caplog.text and "digest" in caplog.text
    assert ewarp(again) == ewarp(first) and FORGED not in ewarp(again).values()
    assert again["aggregate"]["ewarp"]["mean"] == first["aggregate"]["ewarp"]["mean"]
    assert seal_state(read_json(record)) == "verified" and seal_state(read_json(out / "results.json")) == "verified"


def test_a_record_without_a_digest_is_recomputed(tmp_path, caplog):
    out = tmp_path / "run"
    first = run(cfg_for(tmp_path), out)
    record = RunStore(out).record_path("synth-001")
    data = json.loads(record.read_text())
    del data["digest"]
    data["metrics"]["ewarp"] = FORGED
    record.write_text(json.dumps(data))
    with caplog.at_level(logging.INFO):
        again = run(cfg_for(tmp_path), out)
    assert ewarp(again) == ewarp(first)
    assert "synth-000: complete, skipped" in caplog.text and "synth-001: complete, skipped" not in caplog.text


def test_collect_recomputes_the_aggregate_and_names_a_forged_record(tmp_path, caplog):
    out = tmp_path / "run"
    first = run(cfg_for(tmp_path), out)
    forge(out / "results.json", "synth-000")  # results.json alone: rebuilt from the (intact) records
    with caplog.at_level(logging.WARNING):
        rebuilt = load_job(out)
    assert "results.json" in caplog.text and "digest" in caplog.text
    assert ewarp(rebuilt) == ewarp(first) and rebuilt["aggregate"]["ewarp"]["mean"] == first["aggregate"]["ewarp"]["mean"]
    forge(RunStore(out).record_path("synth-000"))  # and the record too: not a number in any table
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        found = collect(out)
    jobs = found.jobs
    assert str(RunStore(out).record_path("synth-000")) in caplog.text
    assert "synth-000" in jobs.loc[0, "failed"] and "digest" in jobs.loc[0, "failed"]["synth-000"]
    assert "ewarp" not in jobs or math.isnan(jobs.loc[0, "ewarp"])  # the table says "failed", not a number
    assert FORGED not in found.videos.get("ewarp", []).tolist()


def test_collect_recomputes_the_aggregate_of_a_verified_results_json(tmp_path):
    out = tmp_path / "run"
    run(cfg_for(tmp_path), out)
    results = read_json(out / "results.json")
    results["aggregate"]["ewarp"]["mean"] = FORGED  # and resealed: the aggregate is not read anyway
    (out / "results.json").write_text(json.dumps(seal({k: v for k, v in results.items() if k != "digest"})))
    assert load_job(out)["aggregate"]["ewarp"]["mean"] != FORGED


class Scale(torch.nn.Module):
    def __init__(self, gain: float) -> None:
        super().__init__()
        self.gain = gain

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x * self.gain).clamp(0, 1)


@pytest.mark.filterwarnings("ignore:`torch.jit:FutureWarning")
def test_a_model_file_replaced_at_the_same_path_is_recomputed(tmp_path, caplog):
    path = tmp_path / "net.pt"
    model = ["model=torchscript", f"model.path={path}"]
    torch.jit.save(torch.jit.script(Scale(1.0)), str(path))
    first = run(cfg_for(tmp_path, *model), tmp_path / "run")
    torch.jit.save(torch.jit.script(Scale(0.5)), str(path))
    with caplog.at_level(logging.INFO):
        again = run(cfg_for(tmp_path, *model), tmp_path / "run")
    fresh = run(cfg_for(tmp_path, *model), tmp_path / "fresh")
    assert "complete, skipped" not in caplog.text and "model file" in caplog.text
    assert [r["metrics"] for r in again["videos"]] == [r["metrics"] for r in fresh["videos"]]
    assert [r["metrics"] for r in again["videos"]] != [r["metrics"] for r in first["videos"]]
    sha = read_json(tmp_path / "run" / "provenance.json")["method"]["components"]["model"]["weights"]["sha256"]
    assert sha == read_json(tmp_path / "fresh" / "provenance.json")["method"]["components"]["model"]["weights"]["sha256"]


def test_a_hand_edited_provenance_does_not_decide_whose_folder_it_is(tmp_path, caplog):
    """A forged ``config_hash`` in ``provenance.json`` cannot let another config write into the folder: the
    folder's config is then read from its verified records."""
    out = tmp_path / "run"
    run(cfg_for(tmp_path), out)
    provenance = json.loads((out / "provenance.json").read_text())
    true_hash = provenance["config_hash"]
    provenance["config_hash"] = "forged-hash"
    (out / "provenance.json").write_text(json.dumps(provenance))
    with caplog.at_level(logging.WARNING):
        found = RunStore(out).previous_config()
    assert found == (true_hash, None)
    assert "provenance.json fails its digest" in caplog.text
