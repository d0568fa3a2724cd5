"""Shared fixtures: the development data folder and tiny synthetic videos."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]

if os.environ.get("PYTEST_XDIST_WORKER"):  # pytest -n N: N workers share the cores, one torch thread each
    torch.set_num_threads(1)
    os.environ.setdefault("OMP_NUM_THREADS", "1")  # and so do the commands the tests start (run.py, …)


def shared_root() -> Path | None:
    """The development data folder: ``$HYPERCON_SHARED``, else ``../shared`` beside the checkout."""
    env = os.environ.get("HYPERCON_SHARED")
    root = Path(env) if env else REPO.parent / "shared"
    return root if (root / "data").is_dir() else None


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    root = shared_root()
    if root is None:
        pytest.skip("development data not found: set HYPERCON_SHARED to the shared/ folder (../shared)")
    return root


@pytest.fixture(autouse=True)
def _seed_and_threads():
    torch.manual_seed(0)
    yield


@pytest.fixture
def one_thread():
    """One torch intra-op thread: many small ops only add synchronisation (badly so on a shared CPU)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def pytest_collection_modifyitems(config, items):
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA device")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def survey_runs(tmp_path_factory) -> Path:
    """A sweep folder with frame-wise and HyperCon outputs of 10 tiny synthetic videos (no metrics): the
    input of the survey tests (10 tasks per question)."""
    from hydra import compose, initialize_config_dir

    import experiments.hydra_setup  # noqa: F401
    from experiments.runner import run

    root = tmp_path_factory.mktemp("survey_runs")
    tiny = ["dataset.num_videos=10", "dataset.num_frames=3", "dataset.height=32", "dataset.width=40",
            "save_video=false", "metrics=none", f"paths.output_root={root}"]
    with initialize_config_dir(config_dir=str(REPO / "conf"), version_base="1.3"):
        for method, extra in (("framewise", []), ("hypercon", ["method.num_inserted=1", "method.window=3"])):
            run(compose(config_name="config", overrides=[*tiny, f"method={method}", *extra]), root / "sweep" / method)
    return root / "sweep"
