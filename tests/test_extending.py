"""The harness grows by adding files, not by editing it: a method is one module + one yaml, a metric is one
module + one registry line. These tests add a toy method and a toy metric from temporary packages and see
them run, evaluated, written and reported with their own labels; and they check that no module of the
experiment or metric layers tells methods apart by name."""

from __future__ import annotations

import ast
import sys
import textwrap
from pathlib import Path

import pytest
import yaml
from hydra import compose, initialize_config_dir

import experiments.hydra_setup  # noqa: F401
from experiments.report import report
from experiments.runner import run
from hypercon.io.frames import read_frames

REPO = Path(__file__).resolve().parents[1]
TINY = ["dataset.num_videos=2", "dataset.num_frames=5", "dataset.height=64", "dataset.width=96", "save_video=false"]

TOY_METHOD = '''
"""A toy blind post-processor: an exponential moving average of the frame-wise output over time."""
from hypercon.method import VideoMethod


class EMABlind(VideoMethod):
    name = "ema_blind"
    needs_reference_input = True  # the runner passes the frame-wise output of `model` as `reference`

    def __init__(self, model, alpha: float = 0.5):
        self.model, self.alpha = model, float(alpha)

    def run(self, frames, known=None, reference=None):
        out = reference.clone()
        for t in range(1, out.shape[0]):
            out[t] = self.alpha * out[t - 1] + (1 - self.alpha) * reference[t]
        return out

    def components(self):
        return {"model": self.model}

    def options(self):
        return {"alpha": self.alpha}

    def label(self):
        return f"EMA-blind (alpha={self.alpha})"
'''

TOY_METRIC = '''
"""A toy metric: mean brightness of the evaluated output."""
from metrics.base import MetricKey, VideoMetric


class MeanBrightness(VideoMetric):
    name = "brightness"
    keys = {"brightness": MetricKey("Brightness", ".4f", True)}

    def compute(self, video):
        return {"brightness": float(video.evaluated_output().mean())}
'''


def _compose(*overrides: str):
    with initialize_config_dir(config_dir=str(REPO / "conf"), version_base="1.3"):
        return compose(config_name="config", overrides=[*TINY, *overrides])


@pytest.fixture
def toy_package(tmp_path, monkeypatch):
    """A temporary package ``toypkg`` (method + metric) and a config folder with the method's yaml."""
    pkg = tmp_path / "src" / "toypkg"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "ema.py").write_text(textwrap.dedent(TOY_METHOD))
    (pkg / "brightness.py").write_text(textwrap.dedent(TOY_METRIC))
    conf = tmp_path / "conf" / "method"
    conf.mkdir(parents=True)
    (conf / "ema_blind.yaml").write_text(yaml.safe_dump(
        {"_target_": "toypkg.ema.EMABlind", "name": "ema_blind", "alpha": 0.5, "model": "${model}"}))
    monkeypatch.syspath_prepend(str(tmp_path / "src"))
    for module in [m for m in sys.modules if m.split(".")[0] == "toypkg"]:  # another test's copy
        monkeypatch.delitem(sys.modules, module)
    return tmp_path


def test_toy_method_runs_gets_the_cached_reference_and_is_reported_with_its_label(toy_package, monkeypatch):
    from hypercon.models.classical import KMeansPalette

    translated = []
    original = KMeansPalette.translate_batch
    monkeypatch.setattr(KMeansPalette, "translate_batch",
                        lambda self, f, k: translated.append(f.shape[0]) or original(self, f, k))
    out = toy_package / "outputs"
    searchpath = f"hydra.searchpath=[file://{toy_package / 'conf'}]"
    results = run(_compose(searchpath, "method=ema_blind", f"paths.output_root={out}"), out / "toy")
    assert results["complete"] and results["provenance"]["method"]["name"] == "ema_blind"
    # the frame-wise reference was computed once per video (10 frames) and shared by the method and fidelity
    assert sum(translated) == 10
    assert results["aggregate"]["fidelity_psnr"]["n"] == 2  # compared with the frame-wise output

    # the output is the EMA of the frame-wise output (8-bit frames, so within rounding)
    run(_compose("method=framewise", f"paths.output_root={out}"), out / "fw")
    reference = read_frames(out / "fw" / "videos" / "synth-000" / "frames")
    expected = reference.clone()
    for t in range(1, expected.shape[0]):
        expected[t] = 0.5 * expected[t - 1] + 0.5 * reference[t]
    toy = read_frames(out / "toy" / "videos" / "synth-000" / "frames")
    assert (toy - expected).abs().max() <= 1.5 / 255

    text, _ = report(out, "table1")
    rows = [line.split(" | ")[1] for line in text.splitlines() if line.startswith(("| synthetic |", "|  |"))]
    assert rows == ["kmeans_palette (frame-wise) [1]", "EMA-blind (alpha=0.5) [2]"]  # the reference row first


def test_toy_metric_is_computed_by_the_runner_written_by_the_cli_and_rendered(toy_package, monkeypatch):
    from metrics import cli
    from metrics.registry import METRICS

    monkeypatch.setitem(METRICS, "brightness", "toypkg.brightness.MeanBrightness")  # its one registry line
    out = toy_package / "outputs"
    results = run(_compose("method=framewise", "metrics.names=[ewarp,brightness]", f"paths.output_root={out}"),
                  out / "run")
    frames = read_frames(out / "run" / "videos" / "synth-000" / "frames")
    assert results["videos"][0]["metrics"]["brightness"] == pytest.approx(float(frames.mean()), rel=1e-6)
    spec = results["provenance"]["metrics"]["brightness"]["keys"]["brightness"]
    assert spec["label"] == "Brightness" and spec["higher_is_better"] and not spec["set_metric"]

    videos = str(out / "run" / "videos")
    cli_results = cli.main(["--pred", videos, "--source", videos, "--metrics", "brightness",
                            "--out", str(toy_package / "cli.json")])
    assert cli_results["aggregate"]["brightness"]["mean"] == pytest.approx(
        results["aggregate"]["brightness"]["mean"], rel=1e-9)
    assert (toy_package / "cli.json").is_file()

    text, _ = report(out / "run", "table1")
    assert "Brightness ↑" in text.splitlines()[2]  # its own column, label and direction


TOY_DATASET = '''
"""A toy dataset: two videos of a horizontal ramp moving one pixel per frame."""
import torch
from datasets.base import VideoDataset


class Ramps(VideoDataset):
    name = "ramps"

    def __init__(self, root=None, *, num_frames: int = 4, **options):
        super().__init__(**options)
        self.num_frames = int(num_frames)

    def _video_names(self):
        return ["ramp-b", "ramp-a"]

    def _read(self, name):
        x = torch.linspace(0, 1, 40)
        frames = torch.stack([x.roll(t).expand(3, 24, 40) for t in range(self.num_frames)])
        return frames[: self.max_frames], {"source": f"generated {name}"}
'''


def test_toy_dataset_from_a_temporary_package_runs(toy_package, monkeypatch):
    (toy_package / "src" / "toypkg" / "ramps.py").write_text(textwrap.dedent(TOY_DATASET))
    (toy_package / "conf" / "dataset").mkdir()
    (toy_package / "conf" / "dataset" / "ramps.yaml").write_text(yaml.safe_dump(
        {"_target_": "toypkg.ramps.Ramps", "name": "ramps", "num_frames": 4, "size": None, "seed": "${seed}",
         "masks": "${task.masks}", "max_videos": None, "max_frames": None, "mask_dir": None, "mask_dilation": 0}))
    out = toy_package / "outputs"
    with initialize_config_dir(config_dir=str(REPO / "conf"), version_base="1.3"):
        cfg = compose(config_name="config", overrides=[
            f"hydra.searchpath=[file://{toy_package / 'conf'}]", "dataset=ramps", "method=framewise",
            "save_video=false", f"paths.output_root={out}"])
    results = run(cfg, out / "run")
    assert [v["video"] for v in results["videos"]] == ["ramp-a", "ramp-b"]  # sorted by the base class
    assert results["provenance"]["dataset"]["name"] == "ramps"
    assert read_frames(out / "run" / "videos" / "ramp-a" / "frames").shape == (4, 3, 24, 40)
    assert results["aggregate"]["ewarp"]["n"] == 2


def _method_names() -> set[str]:
    return {str(yaml.safe_load(p.read_text()).get("name")) for p in (REPO / "conf" / "method").glob("*.yaml")}


def test_no_module_outside_a_method_compares_method_names():
    """experiments/ and metrics/ learn what they need from the methods' declarations, never from names."""
    names = _method_names()
    assert {"hypercon", "framewise"} <= names
    offenders = []
    for folder in ("experiments", "metrics"):
        for path in sorted((REPO / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Constant) and isinstance(node.value, str):
                    words = {node.value, node.value.rstrip("_"), *node.value.split("_")[:1]}
                    if node.value in names or (node.value.startswith(tuple(names)) and words & names):
                        offenders.append(f"{path.relative_to(REPO)}:{node.lineno}: {node.value!r}")
    assert not offenders, "method names compared outside the methods' own files:\n" + "\n".join(offenders)
