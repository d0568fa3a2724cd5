"""Stand-in weights end to end (issue 14): random networks registered in a test manifest
(``$HYPERCON_WEIGHTS_MANIFEST``) run the paper-tier path — Contextual Attention, Lai et al.'s vcons, VINet,
LPIPS — and every result they make carries tier ``test``, which Table 2 refuses to show as a number."""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torchvision

from baselines.vcons.network import TransformNet
from baselines.vinet.method import VINetMethod
from baselines.vinet.network import VINet
from experiments.collect import collect
from experiments.report import report
from experiments.store import read_json
from experiments.tables import STAND_IN_REASON, TableSpec, build_table
from hypercon.models.cxtattn import CxtAttnGenerator
from hypercon.weights.manifest import MANIFEST_PATH

REPO = Path(__file__).resolve().parents[1]


def _stand_in(name: str, path: Path, obj: object) -> dict[str, object]:
    """Write ``obj`` to ``path`` (torch.save, or raw bytes) and return the test-manifest entry replacing the
    built-in ``name``: its format (e.g. the restricted pickle's), with the stand-in's file and digest."""
    if isinstance(obj, bytes):
        path.write_bytes(obj)
    else:
        torch.save(obj, path)
    builtin = json.loads(MANIFEST_PATH.read_text())["entries"][name]
    return {**{k: v for k, v in builtin.items() if k not in ("aliases", "sha256_prefix")},
            "file": path.name, "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}


def _manifest(wdir: Path, entries: dict[str, dict[str, str]]) -> Path:
    path = wdir / "test-manifest.json"
    path.write_text(json.dumps({"entries": entries}))
    return path


@pytest.fixture
def inpaint_standins(tmp_path) -> tuple[Path, Path]:
    """Random Contextual Attention (the converted TF layout, ``netG.`` keys), Lai's vcons checkpoint with its
    Python-2 options pickle, and an AlexNet trunk for LPIPS: ``(weights dir, test manifest)``."""
    wdir = tmp_path / "weights"
    wdir.mkdir()
    torch.manual_seed(0)
    generator = {f"netG.{k}": v for k, v in CxtAttnGenerator().state_dict().items()}
    vcons = TransformNet(nf=8, blocks=2, norm="IN").state_dict()
    alex = {k: v for k, v in torchvision.models.alexnet(weights=None).state_dict().items() if k.startswith("features.")}
    entries = {
        "cxtattn": _stand_in("cxtattn", wdir / "torch_model.p", generator),
        "lai_vcons": _stand_in("lai_vcons", wdir / "ECCV18_blind_consistency.pth", {"model": vcons, "optimizer": {}}),
        "lai_vcons_opts": _stand_in("lai_vcons_opts", wdir / "ECCV18_blind_consistency_opts.pth", pickle.dumps(
            argparse.Namespace(nf=8, blocks=2, norm="IN"), protocol=0)),
        "lpips_alex_trunk": _stand_in("lpips_alex_trunk", wdir / "alexnet-owt-7be5be79.pth", alex),
    }
    return wdir, _manifest(wdir, entries)


@pytest.mark.slow
def test_stand_ins_run_the_paper_path_as_tier_test_and_table2_refuses_them(tmp_path, inpaint_standins):
    wdir, manifest = inpaint_standins
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HYPERCON_WEIGHTS_MANIFEST": str(manifest),
           "HYPERCON_CACHE": str(tmp_path / "cache"), "TORCH_HOME": str(tmp_path / "torch_home")}
    env.pop("HYPERCON_WEIGHTS", None)
    command = [sys.executable, "run.py", "-m", f"paths.output_root={tmp_path / 'out'}", f"paths.weights_dir={wdir}",
               "dataset=synthetic", "dataset.num_videos=1", "dataset.num_frames=3", "dataset.height=32",
               "dataset.width=48", "save_video=false", "progress=false", "task=inpaint", "model=cxtattn",
               "method=framewise,vcons", "+method_settings.vcons.checkpoint=paper", "metrics.names=[ewarp,lpips]",
               "sweep_name=standins"]
    proc = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    sweep = tmp_path / "out" / "sweeps" / "standins"
    results = [read_json(p) for p in sorted(sweep.glob("*/results.json"))]
    assert len(results) == 2
    for record in results:
        prov = record["provenance"]
        assert record["complete"] and prov["method"]["tier"] == "test", prov["method"]
        assert prov["method"]["components"]["model"]["tier"] == "test"  # Contextual Attention
        assert prov["metrics"]["lpips"]["tier"] == "test" and prov["metrics"]["ewarp"]["tier"] == "offline"
        assert prov["metrics"]["lpips"]["weights"]["trunk"]["tier"] == "test"
    vcons = next(r["provenance"]["method"] for r in results if r["provenance"]["method"]["name"] == "vcons")
    assert vcons["weights"]["tier"] == "test" and vcons["weights"]["file"].endswith("ECCV18_blind_consistency.pth")

    text, _ = report(sweep, "table2", "md")
    rows = [line for line in text.splitlines() if line.startswith("| ") and "(test)" in line]
    assert len(rows) == 2, text
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split("|")[2:]]
        assert cells and all(c == "refused" for c in cells), row  # never a number
    assert text.count("REFUSED: ") == 2 and STAND_IN_REASON in text

    # a table that is not one of the paper's shows the numbers, marked and footnoted as stand-ins
    table = build_table(collect(sweep), TableSpec("stand-ins", ("lpips", "ewarp"), task="inpaint", paper=False))
    cells = [c for _, block in table.blocks for row in block for c in row.cells.values()]
    assert cells and all(c.status == "value" for c in cells)
    assert all(row.label.endswith("(test)") for _, block in table.blocks for row in block)
    assert any("stand-in weights from a test manifest" in note for note in table.notes)


def test_vinet_stand_in_through_the_test_manifest_is_tier_test(tmp_path, monkeypatch, one_thread):
    """VINet's paper file replaced by a random network of its layout (upstream's ``module.`` keys): the method
    loads it through the registry and records tier test. (Its 256² and 512² networks take ~16 s a step on one
    CPU thread, too slow for a sweep in the test suite: the loop runs here on a crop-64 network.)"""
    torch.manual_seed(0)
    net = VINet(crop_size=512)
    state = {"state_dict": {f"module.{k}": v for k, v in net.state_dict().items()}}
    monkeypatch.setenv("HYPERCON_WEIGHTS_MANIFEST", str(_manifest(tmp_path, {
        "vinet": _stand_in("vinet", tmp_path / "save_agg_rec_512.pth", state)})))
    method = VINetMethod(weights_dir=str(tmp_path))
    prov = method.provenance()
    assert method.tier == "paper" and prov["tier"] == "test" and prov["weights"]["tier"] == "test"
    method.net, method.crop_size = VINet(crop_size=64).eval(), 64
    frames, known = torch.rand(3, 3, 24, 32), torch.ones(3, 1, 24, 32)
    known[:, :, 8:14, 10:20] = 0
    out = method.run(frames, known)
    assert out.shape == frames.shape and torch.equal(out * known, frames * known)
    monkeypatch.delenv("HYPERCON_WEIGHTS_MANIFEST")  # the same file as a user's (unverified) VINet: tier paper
    monkeypatch.setenv("HYPERCON_WEIGHTS_LOCK", str(tmp_path / "no-lock.json"))
    assert "tier" not in VINetMethod(weights=str(tmp_path / "save_agg_rec_512.pth")).weights()
