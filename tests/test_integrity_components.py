"""Issue 11 ("Integrity first"), the components' half: each test fails on the code before the issue.

Items: 2 (weights verified, NaN/inf refused, constant output warned), 3 (mask rule, no NaN metrics),
4 (pickles), 9 (typed options), 12 (CPU install line), 13 (schemas hidden), 14 (metrics CLI progress and
cache), 17 (status width), 18 (DAVIS layouts).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from hydra.errors import ConfigCompositionException
from omegaconf import OmegaConf
from PIL import Image

import hypercon.weights.registry as reg
from baselines.framewise import Framewise
from datasets.davis import DAVISDataset
from datasets.folder import FolderDataset
from hypercon.config import CONF_DIR, available, compose_config
from hypercon.errors import SettingError
from hypercon.flow.base import FlowEstimator
from hypercon.io.frames import write_frames, write_mask
from hypercon.models.base import ImageModel
from hypercon.weights import WeightsError, WeightsHashError, load_manifest
from hypercon.weights.__main__ import main as weights_main

REPO = Path(__file__).resolve().parents[1]


def checks():
    """``hypercon.checks``, imported in each test so that this file also runs (and fails) on older code."""
    import hypercon.checks

    return hypercon.checks


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """No real weights folder, hub cache or lock file leaks into a test; returns a weights folder."""
    wdir = tmp_path / "weights"
    wdir.mkdir()
    monkeypatch.delenv("HYPERCON_WEIGHTS", raising=False)
    monkeypatch.delenv("HYPERCON_WEIGHTS_MANIFEST", raising=False)
    monkeypatch.setenv("HYPERCON_WEIGHTS_LOCK", str(tmp_path / "lock.json"))
    monkeypatch.setattr(reg, "hub_checkpoints_dir", lambda: tmp_path / "hub")
    return wdir


# ------------------------------------------------------------------------------ 2. weights, NaN, constant


ENGSTROM_STYLES = ("la_muse", "rain_princess", "scream", "udnie", "wave", "wreck")


def test_every_engstrom_file_is_registered_with_its_sha256():
    entries = load_manifest()
    for style in ENGSTROM_STYLES:
        entry = entries[f"fst_engstrom_{style}"]
        assert entry.file == f"fst-engstrom/{style}/manifest.json" and len(entry.sha256) == 64
        assert entry.tier == "offline" and len(entry.files) == 48
        assert set(entry.files) == {"Variable", *(f"Variable_{i}" for i in range(1, 48))}


def test_engstrom_weights_replaced_by_random_bytes_are_refused_naming_the_file(shared_dir, tmp_path, isolated):
    """The issue's case: same size, random bytes. Before: loaded, all-black output, exit 0."""
    from hypercon.models.fst_engstrom import EngstromStyle

    style_dir = tmp_path / "w" / "fst-engstrom" / "udnie"
    shutil.copytree(shared_dir / "weights" / "fst-engstrom" / "udnie", style_dir)  # a copy in tmp, not the repo
    EngstromStyle("udnie", weights_dir=str(tmp_path / "w"))  # the original verifies
    target = style_dir / "Variable_12"
    target.write_bytes(np.random.default_rng(0).bytes(target.stat().st_size))
    with pytest.raises(WeightsHashError) as info:
        EngstromStyle("udnie", weights_dir=str(tmp_path / "w"))
    message = str(info.value)
    assert str(target) in message and "\n" not in message and isinstance(info.value, WeightsError)


def test_engstrom_style_without_a_registry_entry_is_refused(tmp_path, isolated):
    from hypercon.models.fst_engstrom import EngstromStyle

    folder = tmp_path / "w" / "fst-engstrom" / "mystyle"
    folder.mkdir(parents=True)
    (folder / "manifest.json").write_text("{}")
    with pytest.raises(WeightsError, match="no entry 'fst_engstrom_mystyle'.*HYPERCON_WEIGHTS_MANIFEST"):
        EngstromStyle("mystyle", weights_dir=str(tmp_path / "w"))


def test_weights_status_lists_and_verifies_the_engstrom_styles(shared_dir, isolated, capsys):
    assert weights_main(["status", "--weights-dir", str(shared_dir / "weights")]) == 0
    rows = {line.split()[0]: line for line in capsys.readouterr().out.splitlines() if line.strip()}
    for style in ENGSTROM_STYLES:
        assert "verified (sha256)" in rows[f"fst_engstrom_{style}"]


class _Const(ImageModel):
    name = "const"

    def __init__(self, value: float) -> None:
        self.value = value

    def translate_batch(self, frames, known):
        return torch.full_like(frames, self.value)


@pytest.mark.parametrize("value", [math.nan, math.inf])
def test_model_output_with_nan_or_inf_is_an_error_naming_the_model(value):
    from hypercon.errors import UserError

    with pytest.raises(checks().NonFiniteError, match="model 'const' produced") as info:
        _Const(value)(torch.rand(3, 3, 8, 8))
    assert isinstance(info.value, UserError) and "\n" not in str(info.value)


def test_flow_with_nan_is_an_error_naming_the_estimator():
    class NaNFlow(FlowEstimator):
        name = "nanflow"

        def estimate(self, src, dst):
            return torch.full((src.shape[0], 2, *src.shape[-2:]), math.nan)

    with pytest.raises(checks().NonFiniteError, match="flow 'nanflow' produced NaN"):
        NaNFlow()(torch.rand(1, 3, 8, 8), torch.rand(1, 3, 8, 8))


def test_constant_framewise_output_gets_a_warning(caplog):
    frames = torch.rand(4, 3, 8, 8)
    with caplog.at_level(logging.WARNING, logger="hypercon.checks"):
        out = Framewise(_Const(0.0)).run(frames)
    assert torch.equal(out, torch.zeros_like(frames))
    assert any("is constant" in r.getMessage() and "'const'" in r.getMessage() for r in caplog.records)
    assert checks().warn_if_constant(torch.zeros(3, 3, 4, 4), "x") is True
    assert checks().warn_if_constant(frames, "x") is False


# ------------------------------------------------------------------------------------- 3. mask rules


def _folder_video(root: Path, known: torch.Tensor) -> FolderDataset:
    """A 3-frame video 'clip' with the masks ``known [T,1,H,W]`` on disk (white = hole)."""
    write_frames(torch.rand(known.shape[0], 3, *known.shape[-2:]), root / "videos" / "clip")
    for t in range(known.shape[0]):
        write_mask(known[t], root / "masks" / "clip" / f"{t:05d}.png", polarity="hole")
    return FolderDataset(str(root / "videos"), masks_root=str(root / "masks"), masks="folder")


def test_a_frame_with_no_known_pixel_is_refused_naming_the_video(tmp_path):
    known = torch.ones(3, 1, 12, 16)
    known[1] = 0  # frame 1: all hole
    with pytest.raises(checks().NoKnownPixelsError, match=r"video 'clip'.*no known pixel in 1 of 3 frame\(s\) \(frames 1\)"):
        _folder_video(tmp_path, known).load("clip")


def test_an_all_known_mask_is_warned_about_by_name(tmp_path, caplog):
    with caplog.at_level(logging.WARNING):
        sample = _folder_video(tmp_path, torch.ones(3, 1, 12, 16)).load("clip")
    assert bool((sample.known == 1).all())
    assert any("'clip'" in r.getMessage() and "no hole pixel" in r.getMessage() for r in caplog.records)
    checks().check_known_pixels(torch.ones(2, 1, 4, 4), "v")  # allowed (warned)


def _eval_video(known: torch.Tensor):
    from metrics.base import EvalVideo
    from metrics.source_motion import compute_source_motion
    from hypercon.flow.farneback import FarnebackFlow

    g = torch.Generator().manual_seed(0)
    source = torch.rand(4, 3, 24, 32, generator=g)
    output = torch.rand(4, 3, 24, 32, generator=g)
    motion = compute_source_motion(source, FarnebackFlow(), rule="lai")
    return EvalVideo(name="clip", output=output, source=source, gt=source, reference=source.clone(),
                     known=known, source_motion=lambda: motion)


def test_masked_warping_error_with_no_hole_pixels_is_unavailable_not_nan():
    from metrics.base import MetricUnavailable
    from metrics.warping_error import MaskedWarpingError

    with pytest.raises(MetricUnavailable, match=r"^no hole pixels"):
        MaskedWarpingError().compute(_eval_video(torch.ones(4, 1, 24, 32)))


def test_every_metric_of_an_all_known_video_is_unavailable_with_the_reason():
    from metrics.evaluate import evaluate_videos

    results = evaluate_videos([_eval_video(torch.ones(4, 1, 24, 32))], ["ewarp", "ewarp_masked", "fidelity", "gt"])
    row = results["videos"][0]
    assert row["metrics"] == {}  # before: ewarp_masked = nan, psnr = inf (output composited = input)
    assert set(row["unavailable"]) == {"ewarp", "ewarp_masked", "fidelity", "gt"}
    assert all(reason.startswith("no hole pixels") for reason in row["unavailable"].values())
    # a partial mask still gives numbers, none of them NaN
    known = torch.ones(4, 1, 24, 32)
    known[:, :, 5:15, 8:20] = 0
    row = evaluate_videos([_eval_video(known)], ["ewarp", "ewarp_masked", "gt"])["videos"][0]
    assert set(row["metrics"]) >= {"ewarp", "ewarp_masked", "psnr"}
    assert all(math.isfinite(v) for v in row["metrics"].values())


# ---------------------------------------------------------------------------------------- 4. pickles


class _Payload:
    """A pickle payload: unpickling calls builtins.open(marker, 'w'), which creates the marker file."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_record_of_a_legacy_pickle_needs_trust_pickle(isolated, tmp_path, capsys):
    torch.save({"state_dictFC": {}, "state_dictAT": {}}, isolated / "SuperSloMo.ckpt")
    assert weights_main(["record", "superslomo", "--weights-dir", str(isolated)]) != 0
    err = capsys.readouterr().err
    assert "run any code" in err and "--trust-pickle" in err
    assert not (tmp_path / "lock.json").exists()  # nothing recorded
    assert weights_main(["record", "superslomo", "--weights-dir", str(isolated), "--trust-pickle"]) == 0
    assert "superslomo" in json.loads((tmp_path / "lock.json").read_text())["entries"]


def test_a_malicious_pickle_recorded_as_super_slomo_is_refused_and_never_runs(isolated, tmp_path):
    """The issue's case: a recorded (trusted) file that is a malicious pickle. Before: the payload ran."""
    from hypercon.interp.superslomo import SuperSloMo

    marker = tmp_path / "payload-ran"
    path = isolated / "SuperSloMo.ckpt"
    torch.save({"state_dictFC": _Payload(marker), "state_dictAT": {}}, path)
    lock = {"version": 1, "entries": {"superslomo": {"file": "SuperSloMo.ckpt", "path": str(path),
                                                      "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}}}
    (tmp_path / "lock.json").write_text(json.dumps(lock))
    with pytest.raises(WeightsError, match=r"refused by the safe loader \(unsupported global io\.open\)"):
        SuperSloMo(weights_dir=str(isolated))
    assert not marker.exists()


def test_a_malicious_python_pickle_is_refused_by_the_restricted_unpickler(isolated, tmp_path):
    from hypercon.weights import load_checkpoint, record_weights, resolve_weights

    marker = tmp_path / "payload-ran"
    (isolated / "ECCV18_blind_consistency_opts.pth").write_bytes(pickle.dumps(_Payload(marker), protocol=2))
    record_weights("lai_vcons_opts", isolated, trust_pickle=True)
    with pytest.raises(WeightsError, match="not allowed"):
        load_checkpoint(resolve_weights("lai_vcons_opts", weights_dir=isolated))
    assert not marker.exists()


# ---------------------------------------------------------------------------------- 9, 13. typed config


@pytest.mark.parametrize("overrides, key", [
    (["model.num_colors=abc"], "model.num_colors"),
    (["model=fst_engstrom", "model.batch_size=four"], "model.batch_size"),
    (["flow=farneback", "flow.levels=x"], "flow.levels"),
    (["flow=raft_small", "flow.num_flow_updates=1.5"], "flow.num_flow_updates"),
    (["interp.alpha=foo"], "interp.alpha"),
    (["interp=superslomo", "interp.upstream_warp=maybe"], "interp.upstream_warp"),
    (["dataset.num_frames=many"], "dataset.num_frames"),
    (["dataset=davis2016", "dataset.year=last"], "dataset.year"),
    (["dataset=folder", "dataset.mask_threshold=high"], "dataset.mask_threshold"),
    (["method.window=abc"], "method.window"),
    (["method=framewise", "method.bogus=1"], "method.bogus"),
])
def test_a_mistyped_option_fails_at_composition_naming_the_key(overrides, key):
    with pytest.raises((ConfigCompositionException, SettingError)) as info:
        compose_config(overrides)
    message = str(info.value.__cause__ or info.value) + str(info.value)
    assert key in message
    if isinstance(info.value, SettingError):  # checked against the class signature: one line, key first
        assert str(info.value).startswith(f"{key}=") and "\n" not in str(info.value)


@pytest.mark.parametrize("group", ["method", "model", "flow", "interp", "dataset"])
def test_every_option_is_checked_against_its_class_signature(group):
    """Each option of each component group is typed by its ``_target_``'s signature: an unknown key is
    refused naming the class, and no option needs a schema in hypercon/schemas.py."""
    from omegaconf import open_dict

    from hypercon.option_check import check_options

    for option in available(group):
        cfg = compose_config([f"{group}={option}", *({"wei_image2image": ["task=colorize"]}.get(option, []))])
        node = cfg[group]
        assert OmegaConf.get_type(node) is dict, (group, option)  # untyped: the signature types it
        with open_dict(node):
            node.not_an_option = 1
        with pytest.raises(SettingError, match=rf"^{group}\.not_an_option=1: not an option of {node._target_} "):
            check_options(cfg)


def test_help_lists_no_schema_and_a_schema_name_is_not_an_option():
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    out = subprocess.run([sys.executable, "run.py", "--help"], cwd=REPO, env=env, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0
    listed = next(line for line in out.stdout.splitlines() if line.startswith("method: ")).split(": ", 1)[1]
    assert {"framewise", "hypercon", "hypercon_median"} <= set(listed.split(", "))  # a new method adds a name
    assert "_schema" not in out.stdout
    with pytest.raises(ConfigCompositionException, match="Could not find 'method/hypercon_schema'"):
        compose_config(["method=hypercon_schema"])
    with pytest.raises(ConfigCompositionException, match="Could not find 'task/task_schema'"):
        compose_config(["task=task_schema"])  # a schema kept (groups without _target_) is no option either


# ------------------------------------------------------------------------------ 12. CPU-only install


def test_readme_gives_the_cpu_only_install_line_and_keeps_the_default_one():
    readme = (REPO / "README.md").read_text()
    assert ("pip install torch==2.14.1 torchvision==0.29.1 --index-url https://download.pytorch.org/whl/cpu"
            in readme)
    setup = readme.split("## Set-up", 1)[1].split("\n## ", 1)[0]
    first = next(line for line in setup.splitlines() if line.startswith("python3 -m venv"))
    assert "pip install --require-hashes -r requirements/lock.txt && pip install --no-deps -e ." in first
    assert "python run.py" in first


# ---------------------------------------------------------------------------- 14. metrics CLI output


def _metrics_data(root: Path) -> None:
    g = torch.Generator().manual_seed(0)
    for name in ("a", "b"):
        write_frames(torch.rand(3, 3, 24, 32, generator=g), root / "src" / name)
        write_frames(torch.rand(3, 3, 24, 32, generator=g), root / "pred" / name)


def test_metrics_cli_shows_progress_and_says_nothing_was_kept(tmp_path, capsys, caplog):
    from metrics.cli import main

    _metrics_data(tmp_path)
    args = ["--pred", str(tmp_path / "pred"), "--source", str(tmp_path / "src"), "--metrics", "ewarp",
            "--flow", "farneback", "--out", str(tmp_path / "r.json")]
    with caplog.at_level(logging.INFO):
        main([*args, "--progress"])
    assert "2/2" in capsys.readouterr().err  # the per-video bar
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert "nothing was kept" in logged and "caching it in" not in logged
    caplog.clear()
    cache = tmp_path / "cache"
    with caplog.at_level(logging.INFO):
        main([*args, "--no-progress", "--cache", str(cache)])
    assert "2/2" not in capsys.readouterr().err
    assert len(list(cache.rglob("*.npz"))) == 2
    assert f"cached in {cache}" in " ".join(r.getMessage() for r in caplog.records)


# --------------------------------------------------------------------------------- 17. status width


def test_weights_status_fits_100_columns_with_details_under_verbose(isolated, capsys, monkeypatch, tmp_path):
    deep = isolated / ("a-rather-long-folder-name-" * 3) / "more"
    deep.mkdir(parents=True)
    (deep / "net.pth").write_bytes(b"x")
    manifest = tmp_path / "m.json"
    manifest.write_text(json.dumps({"entries": {"net": {
        "file": "net.pth", "role": "a test network with a long description of what it does " * 2,
        "sha256": hashlib.sha256(b"x").hexdigest(), "source": "https://example.invalid/" + "x" * 80}}}))
    monkeypatch.setenv("HYPERCON_WEIGHTS_MANIFEST", str(manifest))
    assert weights_main(["status", "--weights-dir", str(deep)]) == 0
    lines = capsys.readouterr().out.splitlines()
    table = [line for line in lines if not line.startswith("lock file:")]
    assert max(len(line) for line in table) <= 100 and len(table) == len(load_manifest()) + 2
    assert weights_main(["status", "--verbose", "--weights-dir", str(deep), "net"]) == 0
    verbose = capsys.readouterr().out
    assert max(len(line) for line in verbose.splitlines() if not line.startswith("lock file:")) <= 100
    assert "role: a test network" in verbose and "path: " in verbose and "licence" not in verbose


# ------------------------------------------------------------------------------------ 18. DAVIS layouts


def _sequences(root: Path, names: list[str], frames: int = 2) -> None:
    for i, seq in enumerate(names):
        (root / "JPEGImages" / "480p" / seq).mkdir(parents=True)
        (root / "Annotations" / "480p" / seq).mkdir(parents=True)
        for t in range(frames):
            img = np.full((12, 20, 3), 10 * i + t, np.uint8)
            Image.fromarray(img).save(root / "JPEGImages" / "480p" / seq / f"{t:05d}.jpg", quality=100)
            Image.fromarray(np.zeros((12, 20), np.uint8)).save(root / "Annotations" / "480p" / seq / f"{t:05d}.png")


def test_davis2016_reads_the_release_as_published(tmp_path):
    """ImageSets/480p/{train,val}.txt, one line per frame: '/JPEGImages/480p/bear/00000.jpg /Annotations/...'"""
    root = tmp_path / "DAVIS"
    splits = {"train": ["bear", "boat"], "val": ["blackswan", "camel"]}
    _sequences(root, [s for names in splits.values() for s in names])
    (root / "ImageSets" / "480p").mkdir(parents=True)
    (root / "ImageSets" / "1080p").mkdir(parents=True)
    for split, names in splits.items():
        lines = [f"/JPEGImages/480p/{n}/{t:05d}.jpg /Annotations/480p/{n}/{t:05d}.png" for n in names for t in range(2)]
        (root / "ImageSets" / "480p" / f"{split}.txt").write_text("\n".join(lines) + "\n")
    assert DAVISDataset(str(root), year=2016, split="val", size=None).video_names() == ["blackswan", "camel"]
    assert DAVISDataset(str(root), year=2016, split="train", size=None).video_names() == ["bear", "boat"]
    both = DAVISDataset(str(root), year=2016, split="validation", size=None)
    assert both.video_names() == ["bear", "blackswan", "boat", "camel"]
    assert both.load("camel").frames.shape == (2, 3, 12, 20)
    with pytest.raises(ValueError, match=r"split files for 2016: \['train', 'val'\]"):
        DAVISDataset(str(root), year=2016, split="test-dev", size=None)


def test_davis_2017_layout_one_name_per_line(tmp_path):
    root = tmp_path / "DAVIS"
    _sequences(root, ["bear", "blackswan", "dog"])
    for year, splits in {2016: {"val": ["blackswan"]}, 2017: {"train": ["bear"], "val": ["blackswan", "dog"]}}.items():
        (root / "ImageSets" / str(year)).mkdir(parents=True)
        for split, names in splits.items():
            (root / "ImageSets" / str(year) / f"{split}.txt").write_text("\n".join(names) + "\n")
    assert DAVISDataset(str(root), year=2017, split="val", size=None).video_names() == ["blackswan", "dog"]
    assert DAVISDataset(str(root), year=2016, split="val", size=None).video_names() == ["blackswan"]
    assert DAVISDataset(str(root), year=2017, split="validation", size=None).video_names() == ["bear", "blackswan",
                                                                                               "dog"]
