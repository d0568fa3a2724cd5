"""Training kit: shipping a trained checkpoint into the package folder and finding it through the registry."""

from __future__ import annotations

import json
import shutil

import pytest
import torch

import hypercon.weights.registry as reg
from baselines.common.example_recipe import ColourNet, ColourNetModel
from baselines.common.ship import ShipError, main, ship
from baselines.common.sidecar import load_trained, sidecar_path, verify_sidecar, write_trained
from hypercon.weights import MANIFEST_PATH, load_manifest, resolve_weights
from hypercon.weights.__main__ import main as weights_cli
from hypercon.weights.download import DownloadError, download_entry


@pytest.fixture
def place(tmp_path, monkeypatch):
    """A temporary package folder and manifest copy, seen by the registry; a tiny trained checkpoint."""
    trained_dir, manifest = tmp_path / "trained", tmp_path / "weights.json"
    shutil.copy(MANIFEST_PATH, manifest)
    monkeypatch.setattr(reg, "TRAINED_DIR", trained_dir)
    monkeypatch.setattr(reg, "hub_checkpoints_dir", lambda: tmp_path / "hub")
    monkeypatch.setenv("HYPERCON_WEIGHTS_MANIFEST", str(manifest))
    monkeypatch.delenv("HYPERCON_WEIGHTS", raising=False)
    ckpt = tmp_path / "run" / "colour.pt"
    ckpt.parent.mkdir()
    write_trained(ckpt, {"net": ColourNet(4).state_dict()},
                  {"recipe": "baselines.common.example_recipe.ColourRecipe", "data": {"dataset": "synthetic"},
                   "trained_on": ["synth-000"], "steps": 7, "seed": 0, "split": "davis2016_dev"})
    return trained_dir, manifest, ckpt


def test_ship_fp16_registers_and_loads_by_name(place, capsys):
    trained_dir, manifest, ckpt = place
    assert main([str(ckpt), "--name", "colour_tiny", "--fp16", "--dest-dir", str(trained_dir),
                 "--manifest", str(manifest)]) == 0
    shipped = trained_dir / "colour_tiny.pt"
    sidecar = verify_sidecar(shipped)
    assert sidecar["dtype"] == "float16" and sidecar["trained_on"] == ["synth-000"] and sidecar["steps"] == 7
    assert sidecar["shipped_from"]["sha256"] == verify_sidecar(ckpt)["sha256"]
    entry = json.loads(manifest.read_text())["entries"]["colour_tiny"]
    assert entry["tier"] == "trained-here" and entry["sha256"] == sidecar["sha256"]
    assert entry["file"] == "colour_tiny.pt" and entry["sidecar"] == "colour_tiny.json"
    assert load_manifest()["colour_tiny"].tier == "trained-here"
    assert json.loads(MANIFEST_PATH.read_text()).get("entries", {}).get("colour_tiny") is None  # real one untouched

    resolved = resolve_weights("colour_tiny")
    assert resolved.found_in == "package" and resolved.verified and resolved.path == shipped
    model = ColourNetModel("colour_tiny")  # by name: registry (manifest sha256) + sidecar check
    assert model.tier == "trained-here" and model.weights()["file"] == str(shipped)
    assert model.weights()["tier"] == "test" and model.provenance()["tier"] == "test"  # named in a test manifest
    assert model.net.conv1.weight.dtype == torch.float32
    torch.testing.assert_close(model.net.conv1.weight, load_trained(ckpt).modules["net"]["conv1.weight"],
                               rtol=1e-3, atol=1e-3)

    capsys.readouterr()
    assert weights_cli(["status", "colour_tiny"]) == 0
    row = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("colour_tiny"))
    assert "test (trained-here)" in row and "package" in row and "verified (sha256)" in row
    with pytest.raises(DownloadError, match="ships with the package"):
        download_entry(load_manifest()["colour_tiny"])


def test_ship_refuses_large_files_and_bad_names(place):
    trained_dir, manifest, ckpt = place
    before = manifest.read_text()
    with pytest.raises(ShipError, match="limit.*--fp16"):
        ship(ckpt, "colour_big", dest_dir=trained_dir, manifest_path=manifest, max_bytes=1000)
    with pytest.raises(ShipError, match="lower-case"):
        ship(ckpt, "Colour Big", dest_dir=trained_dir, manifest_path=manifest)
    assert manifest.read_text() == before and not any(p.suffix == ".pt" for p in trained_dir.rglob("*"))
    sidecar_path(ckpt).unlink()
    with pytest.raises(Exception, match="no sidecar"):
        ship(ckpt, "colour_orphan", dest_dir=trained_dir, manifest_path=manifest)


def test_shipped_checkpoints_are_small_verified_and_registered():
    """Every file committed in hypercon/weights/trained/ (package data): sidecar verified, <= 16 MiB, registered."""
    from baselines.common.ship import MAX_BYTES
    from hypercon.weights import TRAINED_DIR

    assert (TRAINED_DIR / "README.md").is_file()
    assert '"weights/trained/*"' in (MANIFEST_PATH.parents[1] / "pyproject.toml").read_text()
    entries = {e.file: e for e in load_manifest().values() if e.tier == "trained-here"}
    for path in TRAINED_DIR.glob("*.pt"):
        assert path.stat().st_size <= MAX_BYTES, path
        assert entries[path.name].sha256 == verify_sidecar(path)["sha256"], path
