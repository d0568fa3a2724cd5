"""Training kit: a trained checkpoint's sidecar is written, verified on load, and carried into provenance."""

from __future__ import annotations

import json

import pytest
import torch

from baselines.common.cli import compose_train_config, train_from_config
from baselines.common.example_recipe import ColourNetModel, colour_transform
from baselines.common.sidecar import SidecarError, load_trained, sidecar_path, verify_sidecar, write_trained
from baselines.common.split import SplitViolation, check_unseen, seen_sequences
from hypercon.weights import sha256_of


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("trained")
    result = train_from_config(compose_train_config("example", [f"out_dir={out}", "steps=60"]))
    return result.trained


def test_sidecar_records_training(trained):
    sidecar = json.loads(sidecar_path(trained).read_text())
    assert sidecar["sha256"] == sha256_of(trained) and sidecar["file"] == "example.pt"
    assert sidecar["tier"] == "trained-here" and sidecar["trained_on"] == ["synth-000"]
    assert sidecar["data"]["dataset"] == "synthetic" and "root" not in json.dumps(sidecar["data"])
    assert (sidecar["steps"], sidecar["seed"], sidecar["split"]) == (60, 0, "davis2016_dev")
    assert sidecar["config"]["recipe"]["lr"] == 0.01 and sidecar["torch"] == torch.__version__
    assert sidecar["git_commit"] and sidecar["wall_s"] >= 0 and sidecar["dtype"] == "float32"
    assert verify_sidecar(trained) == sidecar


def test_component_from_checkpoint_reports_trained_here(trained):
    model = ColourNetModel(str(trained))
    prov = model.provenance()
    assert prov["tier"] == "trained-here"
    assert prov["weights"] == {"file": str(trained), "sha256": sha256_of(trained), "trained_on": ["synth-000"],
                               "steps": 60, "split": "davis2016_dev"}
    frames = torch.rand(2, 3, 16, 16)
    assert (model(frames) - colour_transform(frames)).abs().mean() < 0.1  # it learned the transform
    assert seen_sequences({"model": prov}) == {"synth-000"}
    with pytest.raises(SplitViolation, match="synth-000"):
        check_unseen({"components": {"model": prov}}, ["synth-000"])


def test_tampered_or_orphaned_checkpoint_is_refused(tmp_path):
    ckpt = tmp_path / "net.pt"
    write_trained(ckpt, {"net": {"w": torch.ones(2)}}, {"trained_on": ["dog"], "steps": 1})
    assert load_trained(ckpt).modules["net"]["w"].eq(1).all()
    write_trained(tmp_path / "other.pt", {"net": {"w": torch.zeros(2)}}, {})
    (tmp_path / "other.pt").replace(ckpt)  # a different file under the recorded name
    with pytest.raises(SidecarError, match="net.pt"):
        load_trained(ckpt)
    sidecar_path(ckpt).unlink()
    with pytest.raises(SidecarError, match="no sidecar net.json"):
        load_trained(ckpt)
