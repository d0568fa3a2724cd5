"""Golden values of the main job: ``python run.py`` with no overrides (HyperCon, offline tier, the embedded
synthetic default). Recorded on main at 356248c, before the "room to grow" refactor; a refactor must not
change a single number (only float summation noise is tolerated)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir

import experiments.hydra_setup  # noqa: F401
from experiments.runner import run

REPO = Path(__file__).resolve().parents[1]

GOLDEN = {
    "synth-000": {"ewarp": 0.00024649508131491374, "cpsnr": 31.14940316971779, "cssim": 0.9611665098523247,
                  "fidelity_psnr": 31.294054841795198, "fidelity_ssim": 0.8955272984169534},
    "synth-001": {"ewarp": 0.0006514611547056983, "cpsnr": 26.794958282922938, "cssim": 0.9227482628290915,
                  "fidelity_psnr": 29.249613725207837, "fidelity_ssim": 0.928915316956537},
}
GOLDEN_MEAN = {"ewarp": 0.000448978118010306, "cpsnr": 28.972180726320364, "cssim": 0.941957386340708,
               "fidelity_psnr": 30.27183428350152, "fidelity_ssim": 0.9122213076867451}


@pytest.mark.slow
def test_default_run_reproduces_golden_metrics(tmp_path):
    with initialize_config_dir(config_dir=str(REPO / "conf"), version_base="1.3"):
        cfg = compose(config_name="config", overrides=[f"paths.output_root={tmp_path}", "save_video=false"])
    results = run(cfg, tmp_path / "run")
    assert results["complete"]
    per_video = {row["video"]: row["metrics"] for row in results["videos"]}
    assert set(per_video) == set(GOLDEN)
    for video, expected in GOLDEN.items():
        assert set(per_video[video]) == set(expected), video
        for key, value in expected.items():
            assert per_video[video][key] == pytest.approx(value, rel=1e-9, abs=1e-12), (video, key)
    for key, value in GOLDEN_MEAN.items():
        assert results["aggregate"][key]["mean"] == pytest.approx(value, rel=1e-9), key
