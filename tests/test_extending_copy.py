"""Adding a method or a dataset inside the repository is one module + one yaml + its test, nothing else
edited: in a scratch copy of the repository, a toy method (``baselines/toy_ema.py``) and a toy dataset
(``datasets/toy_ramps.py``) are added with their yamls and their test, and the composition, option and
extension checks run there unchanged; a mistyped toy option fails before any work, in one line."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
#: what a run and the checks below need; the rest of the tree (docs, notebooks, benchmarks) stays behind
NEEDED = ("baselines", "conf", "datasets", "experiments", "hypercon", "metrics", "tests", "run.py", "pyproject.toml")
#: files this size or larger (shipped weights) are linked, not copied
LINK_FROM_BYTES = 1 << 20

TOY_METHOD = '''"""A toy blind post-processor: an exponential moving average of the frame-wise output over time."""

from __future__ import annotations

from typing import Any

from torch import Tensor

from hypercon.method import VideoMethod
from hypercon.models.base import ImageModel


class EMABlind(VideoMethod):
    """out_t = alpha * out_{t-1} + (1 - alpha) * P_t, P the frame-wise output of ``model``."""

    name = "toy_ema"
    needs_reference_input = True

    def __init__(self, model: ImageModel, alpha: float = 0.5) -> None:
        self.model, self.alpha = model, float(alpha)

    def run(self, frames: Tensor, known: Tensor | None = None, reference: Tensor | None = None) -> Tensor:
        out = reference.clone()
        for t in range(1, out.shape[0]):
            out[t] = self.alpha * out[t - 1] + (1 - self.alpha) * reference[t]
        return out

    def components(self) -> dict[str, Any]:
        return {"model": self.model}

    def options(self) -> dict[str, Any]:
        return {"alpha": self.alpha}
'''

TOY_METHOD_YAML = """# A toy blind post-processor (tests/test_extending_copy.py).
_target_: baselines.toy_ema.EMABlind
name: toy_ema
alpha: 0.5          # weight of the previous output
model: ${model}
"""

TOY_DATASET = '''"""A toy dataset: horizontal ramps moving one pixel per frame."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from datasets.base import VideoDataset


class Ramps(VideoDataset):
    """``num_videos`` ramps of ``num_frames`` frames, 24x40."""

    name = "toy_ramps"

    def __init__(self, *, num_videos: int = 2, num_frames: int = 4, **options: Any) -> None:
        super().__init__(**options)
        self.num_videos, self.num_frames = int(num_videos), int(num_frames)

    def _video_names(self) -> list[str]:
        return [f"ramp-{i}" for i in range(self.num_videos)]

    def _read(self, name: str) -> tuple[Tensor, dict[str, Any]]:
        x = torch.linspace(0, 1, 40)
        frames = torch.stack([x.roll(t).expand(3, 24, 40) for t in range(self.num_frames)])
        return frames[: self.max_frames], {"source": f"generated {name}"}
'''

TOY_DATASET_YAML = """# Toy ramps (tests/test_extending_copy.py).
_target_: datasets.toy_ramps.Ramps
name: toy_ramps
num_videos: 2
num_frames: 4
seed: ${seed}
masks: ${task.masks}
mask_dilation: 0
max_videos: null
max_frames: null
mask_dir: null
"""

TOY_TEST = '''"""The toy method on the toy dataset: composed, checked and run as any component."""

import pytest

import experiments.hydra_setup  # noqa: F401
from experiments.runner import run
from hypercon.config import compose_config
from hypercon.errors import SettingError


def test_toy_method_runs_on_toy_dataset(tmp_path):
    cfg = compose_config(["method=toy_ema", "dataset=toy_ramps", "model=identity", "metrics=none",
                          "save_video=false", f"paths.output_root={tmp_path}"])
    results = run(cfg, tmp_path / "run")
    assert results["complete"] and [v["video"] for v in results["videos"]] == ["ramp-0", "ramp-1"]
    assert results["provenance"]["method"]["name"] == "toy_ema"


def test_toy_options_are_typed_by_their_signatures():
    with pytest.raises(SettingError, match=r"^method\\.alpha=abc: expected float \\(baselines\\.toy_ema\\.EMABlind\\.alpha\\)$"):
        compose_config(["method=toy_ema", "method.alpha=abc"])
    with pytest.raises(SettingError, match=r"^dataset\\.num_frames=many: expected int \\(datasets\\.toy_ramps\\.Ramps\\.num_frames\\)$"):
        compose_config(["dataset=toy_ramps", "dataset.num_frames=many"])
    with pytest.raises(SettingError, match=r"^dataset\\.bogus=1: not an option of datasets\\.toy_ramps\\.Ramps"):
        compose_config(["dataset=toy_ramps", "+dataset.bogus=1"])
'''

#: the new files: one module + one yaml + a test, per component
TOY_FILES = {
    "baselines/toy_ema.py": TOY_METHOD, "conf/method/toy_ema.yaml": TOY_METHOD_YAML,
    "datasets/toy_ramps.py": TOY_DATASET, "conf/dataset/toy_ramps.yaml": TOY_DATASET_YAML,
    "tests/test_toy_components.py": TOY_TEST,
}

#: the checks run in the copy, unchanged: composition of every method and dataset, the signature check of
#: every option, defaults written twice, the toy method / dataset extension tests, and the toys' own test
CHECKS = [
    "tests/test_toy_components.py", "tests/test_option_defaults.py",
    "tests/test_configs.py::test_every_group_option_composes[method]",
    "tests/test_configs.py::test_every_group_option_composes[dataset]",
    "tests/test_integrity_components.py::test_every_option_is_checked_against_its_class_signature[method]",
    "tests/test_integrity_components.py::test_every_option_is_checked_against_its_class_signature[dataset]",
    "tests/test_extending.py::test_toy_dataset_from_a_temporary_package_runs",
]


def tracked_files(repo: Path) -> list[str]:
    """The files git tracks, and the untracked ones it does not ignore, under :data:`NEEDED`."""
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z", "--", *NEEDED], cwd=repo,
                            capture_output=True, text=True, check=True, timeout=60).stdout
    return [name for name in listed.split("\0") if name and (repo / name).is_file()]


def copy_repo(repo: Path, dest: Path) -> None:
    """Copy :func:`tracked_files` into ``dest`` (large files as symbolic links)."""
    for name in tracked_files(repo):
        source, target = repo / name, dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.stat().st_size >= LINK_FROM_BYTES:
            target.symlink_to(source)
        else:
            shutil.copy2(source, target)


@pytest.mark.slow
def test_a_toy_method_and_dataset_are_new_files_only(tmp_path):
    if shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.skip("needs the git checkout (git ls-files) to copy the repository")
    copy = tmp_path / "repo"
    copy_repo(REPO, copy)
    for name, text in TOY_FILES.items():
        assert not (copy / name).exists(), name  # new files, not edits
        (copy / name).write_text(text)
    env = {**os.environ, "PYTHONPATH": str(copy), "HYPERCON_OUTPUT": str(tmp_path / "outputs"),
           "PYTHONDONTWRITEBYTECODE": "1"}
    checks = subprocess.run([sys.executable, "-m", "pytest", "-v", "-n", "0", "-p", "no:cacheprovider", *CHECKS], cwd=copy,
                            env=env, capture_output=True, text=True, timeout=600)
    assert checks.returncode == 0, checks.stdout[-4000:] + checks.stderr[-2000:]
    passed = {line.split(" PASSED")[0] for line in checks.stdout.splitlines() if " PASSED" in line}
    assert {"tests/test_toy_components.py::test_toy_method_runs_on_toy_dataset",
            "tests/test_toy_components.py::test_toy_options_are_typed_by_their_signatures", *CHECKS[2:]} <= passed
    assert "skipped" not in checks.stdout.splitlines()[-1]

    bad = subprocess.run([sys.executable, "run.py", "method=toy_ema", "dataset=toy_ramps", "method.alpha=abc"],
                         cwd=copy, env=env, capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1, bad.stderr
    assert "method.alpha=abc: expected float (baselines.toy_ema.EMABlind.alpha)" in bad.stderr
    assert not (tmp_path / "outputs" / "runs").exists()  # it failed before the run folder was made
