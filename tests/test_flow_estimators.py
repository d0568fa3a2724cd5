"""Flow estimators: known sub-pixel motion, Middlebury EPE bounds, RAFT loader, configs."""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate
from omegaconf import OmegaConf

from hypercon.checks import frames_from_uint8
from hypercon.flow.dis import FINE_OVERRIDES, DISFlow, dis_flow, make_dis
from hypercon.flow.farneback import FarnebackFlow
from hypercon.flow.raft import RAFTFlow, build_raft, load_raft_state_dict, pad_for_raft
from hypercon.io.flo import flo_valid, read_flo
from hypercon.resize import unpad

CONF = Path(__file__).resolve().parents[1] / "conf"
SCENES = ("Dimetrodon", "Grove2", "Grove3", "Hydrangea", "RubberWhale", "Urban2", "Urban3", "Venus")


def texture(height: int, width: int, dx: float = 0.0, dy: float = 0.0) -> torch.Tensor:
    """``[1,3,H,W]`` smooth RGB texture t(x - dx, y - dy): pixel x of texture(0,0) moves to x + (dx, dy)."""
    rows, cols = torch.arange(height, dtype=torch.float64), torch.arange(width, dtype=torch.float64)
    ys, xs = torch.meshgrid(rows, cols, indexing="ij")
    x, y = xs - dx, ys - dy
    gen = torch.Generator().manual_seed(3)
    val = torch.zeros_like(x)
    for _ in range(16):
        fx, fy = (torch.rand(2, generator=gen, dtype=torch.float64) * 2 - 1) * 0.08  # cycles / pixel
        phase = torch.rand(1, generator=gen, dtype=torch.float64) * 2 * math.pi
        val += torch.cos(2 * math.pi * (fx * x + fy * y) + phase)
    val = 0.5 + 0.12 * val
    rgb = torch.stack([val, 1 - val, 0.5 + 0.4 * torch.sin(3 * val)]).clamp(0, 1)
    return rgb.float()[None]


def interior_epe(flow: torch.Tensor, motion: tuple[float, float], margin: int = 16) -> torch.Tensor:
    inner = flow[..., margin:-margin, margin:-margin]
    return ((inner[:, 0] - motion[0]) ** 2 + (inner[:, 1] - motion[1]) ** 2).sqrt()


# interior mean EPE bounds on the synthetic translation (measured: ultrafast <= 0.13, fast <= 0.15,
# medium/fine/Farneback <= 0.021)
TRANSLATION_BOUNDS = {"ultrafast": 0.25, "fast": 0.25, "medium": 0.05, "fine": 0.05, "farneback": 0.05}


def _estimator(kind: str):
    return FarnebackFlow() if kind == "farneback" else DISFlow(preset=kind)


@pytest.mark.parametrize("kind", list(TRANSLATION_BOUNDS))
def test_subpixel_translation_is_recovered(kind):
    motions = [(1.6, -0.7), (-2.4, 1.3)]
    src = texture(96, 128).expand(2, -1, -1, -1)
    dst = torch.cat([texture(96, 128, *m) for m in motions])
    flow = _estimator(kind)(src, dst)
    assert flow.shape == (2, 2, 96, 128) and flow.dtype == torch.float32 and flow.device == src.device
    for i, motion in enumerate(motions):
        assert interior_epe(flow[i : i + 1], motion).mean() < TRANSLATION_BOUNDS[kind], (kind, motion)


def test_zero_motion_gives_near_zero_flow():
    frame = texture(64, 80)
    assert DISFlow()(frame, frame).abs().max() < 0.05


@pytest.mark.parametrize("preset", ["ultrafast", "medium", "fine"])
def test_dis_tiny_images(preset):
    # OpenCV DIS raises or crashes below a few patches; the wrapper pads such images and crops the flow
    for height, width in [(4, 6), (8, 8), (15, 20), (12, 64)]:
        flow = DISFlow(preset=preset)(torch.rand(2, 3, height, width), torch.rand(2, 3, height, width))
        assert flow.shape == (2, 2, height, width) and torch.isfinite(flow).all()


def test_dis_opencv_error_is_explained():
    class FailingDIS:
        def getPatchSize(self):
            return 8

        def getFinestScale(self):
            return 5

        def calc(self, a, b, flow):
            raise cv2.error("bad size")

    gray = np.zeros((40, 50), np.uint8)
    with pytest.raises(ValueError, match="DIS failed on a 50x40 image .*finest_scale 5"):
        dis_flow(gray, gray, FailingDIS())


def test_dis_options_and_errors():
    fine = make_dis("fine")
    assert fine.getFinestScale() == FINE_OVERRIDES["finest_scale"] == 0
    assert fine.getPatchStride() == 2 and fine.getGradientDescentIterations() == 32
    assert fine.getVariationalRefinementIterations() == 10
    assert make_dis("medium", patch_size=12).getPatchSize() == 12
    assert DISFlow(preset="fine", vr_iterations=3).options() == {"preset": "fine", "vr_iterations": 3}
    assert DISFlow().tier == "offline" and DISFlow().provenance()["options"] == {"preset": "medium"}
    with pytest.raises(ValueError, match="preset"):
        DISFlow(preset="ultrafine")
    with pytest.raises(ValueError, match="unknown DIS option"):
        make_dis("medium", patch_sise=8)
    with pytest.raises(ValueError, match="src"):
        DISFlow()(torch.rand(1, 3, 8, 8), torch.rand(1, 3, 8, 9))


def test_farneback_defaults_and_errors():
    est = FarnebackFlow()
    assert est.options() == {"pyr_scale": 0.5, "levels": 3, "winsize": 15, "iterations": 3, "poly_n": 5,
                             "poly_sigma": 1.2, "flags": 0}
    with pytest.raises(ValueError, match="poly_n"):
        FarnebackFlow(poly_n=6)
    with pytest.raises(ValueError, match="pyr_scale"):
        FarnebackFlow(pyr_scale=1.5)
    with pytest.raises(ValueError, match="initial flow"):
        FarnebackFlow(flags=cv2.OPTFLOW_USE_INITIAL_FLOW)


# Middlebury (8 training scenes with ground truth): mean EPE over known pixels, all scenes.
# Measured (OpenCV 5.0): ultrafast 0.88, fast 0.75, medium 0.61, fine 0.49, Farneback 1.21;
# the worst single scene is Urban3 (up to 2.1 for DIS, 3.0 for Farneback).
MIDDLEBURY_MEAN_BOUNDS = {"ultrafast": 1.0, "fast": 0.85, "medium": 0.7, "fine": 0.56, "farneback": 1.35}
MIDDLEBURY_SCENE_BOUND = {"ultrafast": 2.4, "fast": 2.1, "medium": 2.4, "fine": 2.3, "farneback": 3.4}


@pytest.fixture(scope="module")
def middlebury(shared_dir):
    pairs = []
    for scene in SCENES:
        folder = shared_dir / "data/middlebury-flow" / scene
        frames = [cv2.cvtColor(cv2.imread(str(folder / f"frame1{i}.png")), cv2.COLOR_BGR2RGB) for i in (0, 1)]
        pairs.append((scene, frames_from_uint8(np.stack(frames)), read_flo(folder / "flow10.flo")))
    return pairs


@pytest.mark.parametrize("kind", list(MIDDLEBURY_MEAN_BOUNDS))
def test_middlebury_epe(middlebury, kind):
    est = _estimator(kind)
    epes = {}
    for scene, frames, gt in middlebury:
        flow = est(frames[:1], frames[1:])[0].permute(1, 2, 0).numpy()
        valid = flo_valid(gt)
        epes[scene] = float(np.linalg.norm(flow - gt, axis=-1)[valid].mean())
    mean = float(np.mean(list(epes.values())))
    assert mean < MIDDLEBURY_MEAN_BOUNDS[kind], (kind, mean, epes)
    assert max(epes.values()) < MIDDLEBURY_SCENE_BOUND[kind], (kind, epes)


# ---------------------------------------------------------------------------------------- RAFT


def register_stand_in(monkeypatch, tmp_path: Path, name: str, path: Path) -> None:
    """Point ``$HYPERCON_WEIGHTS_MANIFEST`` at a manifest whose entry ``name`` is ``path`` with its sha256."""
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps({"entries": {name: {"file": path.name, "sha256": digest}}}))
    monkeypatch.setenv("HYPERCON_WEIGHTS_MANIFEST", str(manifest))


def test_pad_for_raft_round_trip():
    x = torch.rand(2, 3, 60, 130)
    padded, pads = pad_for_raft(x)
    assert padded.shape[-2:] == (128, 136)  # at least 128, multiples of 8
    torch.testing.assert_close(unpad(padded, pads), x)
    assert (padded[..., 59:, :130] == x[..., 59:60, :]).all()  # replicate padding at the bottom


def test_raft_small_loads_by_explicit_path(tmp_path, monkeypatch):
    path = tmp_path / "raft_small_random.pth"
    torch.save(build_raft("small").state_dict(), path)
    register_stand_in(monkeypatch, tmp_path, "raft_small", path)
    est = RAFTFlow(size="small", num_flow_updates=2, weights=str(path))
    assert est.tier == "paper" and est.name == "raft_small"
    assert est.weights() == {"file": str(path), "sha256": hashlib.sha256(path.read_bytes()).hexdigest(), "tier": "test"}
    assert est.provenance()["tier"] == "test"  # a stand-in from the test manifest
    src, dst = torch.rand(2, 3, 64, 64), torch.rand(2, 3, 64, 64)
    flow = est(src, dst)
    assert flow.shape == (2, 2, 64, 64) and flow.dtype == torch.float32 and torch.isfinite(flow).all()
    loaded = est.net.state_dict()
    assert all(torch.equal(loaded[k], v) for k, v in torch.load(path, weights_only=True).items())


def test_raft_loader_is_strict():
    state = build_raft("small").state_dict()
    state.pop(next(iter(state)))
    with pytest.raises(RuntimeError, match="Missing key"):
        load_raft_state_dict(state, "small")
    with pytest.raises(ValueError, match="size"):
        build_raft("medium")


def test_raft_missing_weights_fail_fast(tmp_path, monkeypatch):
    from hypercon.weights import MissingWeightsError

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.delenv("HYPERCON_WEIGHTS", raising=False)
    monkeypatch.delenv("HYPERCON_WEIGHTS_MANIFEST", raising=False)
    with pytest.raises(MissingWeightsError, match="raft_large_C_T_SKHT_V2"):
        RAFTFlow(size="large", weights_dir=str(tmp_path))


# --------------------------------------------------------------------------------------- configs


def compose_flow(option: str, **root) -> dict:
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose(config_name=f"flow/{option}")
    full = OmegaConf.merge({"device": "cpu", "paths": {"weights_dir": None}}, root, cfg)
    return OmegaConf.to_container(full.flow, resolve=True)


@pytest.mark.parametrize(
    "option, cls, options",
    [("dis", DISFlow, {"preset": "medium"}), ("dis_fine", DISFlow, {"preset": "fine"}),
     ("farneback", FarnebackFlow, FarnebackFlow().options())],
)
def test_offline_configs_instantiate(option, cls, options):
    est = instantiate(compose_flow(option))
    assert type(est) is cls and est.tier == "offline" and est.options() == options


@pytest.mark.parametrize("option", ["raft_small", "raft_large", "raft_things", "pwcnet"])
def test_paper_configs_need_weights(option, tmp_path, monkeypatch):
    from hypercon.weights import MissingWeightsError

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.delenv("HYPERCON_WEIGHTS", raising=False)
    monkeypatch.delenv("HYPERCON_WEIGHTS_MANIFEST", raising=False)
    node = compose_flow(option, paths={"weights_dir": str(tmp_path)})
    assert node["weights_dir"] == str(tmp_path) and node["device"] == "cpu"
    with pytest.raises(Exception) as info:
        instantiate(node)
    err = info.value if isinstance(info.value, MissingWeightsError) else info.value.__cause__
    assert isinstance(err, MissingWeightsError) and str(tmp_path) in str(err)
