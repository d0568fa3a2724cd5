"""Training kit: a killed and resumed run reproduces the uninterrupted loss curve and weights bit for bit."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import baselines.common.checkpoint as ckpt_mod
from baselines.common.checkpoint import load_state, save_state
from baselines.common.cli import compose_train_config, train_from_config
from baselines.common.example_recipe import ColourRecipe
from baselines.common.losslog import read_log
from baselines.common.split import SplitViolation, load_split
from baselines.common.trainer import Trainer, TrainSettings

REPO = Path(__file__).resolve().parents[1]
STEPS = ["steps=12", "checkpoint_every=4"]


def run_example(out_dir: Path, *overrides: str):
    return train_from_config(compose_train_config("example", [f"out_dir={out_dir}", *STEPS, *overrides]))


def loss_columns(out_dir: Path) -> dict[str, list]:
    log = read_log(out_dir / "losses.csv")
    return {k: v for k, v in log.items() if k != "wall_s"}


def final_weights(out_dir: Path) -> dict[str, torch.Tensor]:
    return torch.load(out_dir / "example.pt", weights_only=True)["modules"]["net"]


def assert_same_run(a: Path, b: Path) -> None:
    assert (b / "losses.csv").read_text().count("\n") == 13  # header + 12 steps, none duplicated
    assert loss_columns(a) == loss_columns(b)  # floats compared exactly (written with repr)
    wa, wb = final_weights(a), final_weights(b)
    assert wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("full")
    result = run_example(out)
    assert result.status == "done" and result.step == 12 and result.exit_code == 0
    return out


def test_example_recipe_trains(uninterrupted):
    log = read_log(uninterrupted / "losses.csv")
    assert list(log) == ["step", "loss", "fit", "temporal", "lr", "wall_s"] and log["step"] == list(range(1, 13))
    assert log["fit"][-1] < 0.5 * log["fit"][0]
    assert (uninterrupted / "losses.png").stat().st_size > 0 and (uninterrupted / "example.json").is_file()


def test_sigterm_then_same_command_resumes_bit_exact(tmp_path, uninterrupted):
    """A subprocess stops itself with SIGTERM after step 5 (through the real handler); the same command,
    run again, resumes from the checkpoint written on the signal."""
    command = [sys.executable, "-m", "baselines.common.example_recipe", f"out_dir={tmp_path}", *STEPS,
               "stop_after_steps=5"]
    killed = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert killed.returncode == 128 + signal.SIGTERM, killed.stderr
    assert "resume with the same command" in killed.stdout + killed.stderr
    assert load_state(tmp_path / "last.pt")["step"] == 5 and not (tmp_path / "example.pt").exists()
    resumed = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert resumed.returncode == 0, resumed.stderr
    assert_same_run(uninterrupted, tmp_path)


class CrashAt(ColourRecipe):
    """Dies (no handler, no save) at the start of a given step, like a SIGKILL."""

    def __init__(self, crash_step: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.crash_step, self.calls = crash_step, 0

    def step(self, batch):
        self.calls += 1
        if self.calls == self.crash_step:
            raise RuntimeError("killed")
        return super().step(batch)


def test_hard_kill_loses_only_unsaved_steps(tmp_path, uninterrupted):
    """Killed at step 7 with the last checkpoint at step 4: rows 5-6 of the log are dropped and recomputed."""
    from hydra.utils import instantiate
    from omegaconf import OmegaConf

    cfg = OmegaConf.to_container(compose_train_config("example", [f"out_dir={tmp_path}", *STEPS]), resolve=True)
    options = {k: v for k, v in cfg["recipe"].items() if k != "_target_"}
    options["perceptual"] = instantiate(options["perceptual"])
    with pytest.raises(RuntimeError, match="killed"):
        Trainer(CrashAt(7, **options), TrainSettings.from_config(cfg), cfg).fit()
    assert load_state(tmp_path / "last.pt")["step"] == 4
    assert read_log(tmp_path / "losses.csv")["step"] == list(range(1, 7))
    assert run_example(tmp_path).status == "done"
    assert_same_run(uninterrupted, tmp_path)


def test_time_window_stops_cleanly_and_resumes(tmp_path, uninterrupted):
    first = run_example(tmp_path, "max_minutes=0")
    assert (first.status, first.step, first.exit_code) == ("time_limit", 1, 0)
    assert run_example(tmp_path).status == "done"
    assert_same_run(uninterrupted, tmp_path)


def test_resume_with_a_different_config_is_refused(tmp_path):
    run_example(tmp_path, "max_minutes=0")
    with pytest.raises(ValueError, match="different config.*seed"):
        run_example(tmp_path, "seed=1")


def test_kill_during_checkpoint_write_keeps_previous(tmp_path, monkeypatch):
    path = tmp_path / "last.pt"
    save_state(path, {"step": 4, "weights": torch.arange(3.0)})

    def dying_save(obj, target):
        Path(target).write_bytes(b"PK\x03\x04 half a zip")
        raise KeyboardInterrupt  # the process dies mid-write

    monkeypatch.setattr(ckpt_mod.torch, "save", dying_save)
    with pytest.raises(KeyboardInterrupt):
        save_state(path, {"step": 8, "weights": torch.zeros(3)})
    state = load_state(path)
    assert state["step"] == 4 and torch.equal(state["weights"], torch.arange(3.0))
    assert [p.name for p in tmp_path.iterdir()] == ["last.pt"]


def test_training_on_a_test_sequence_is_refused(tmp_path):
    class LeakyRecipe(ColourRecipe):
        data = {"dataset": "davis2016"}
        trained_on = ("bmx-trees", "blackswan")

        def __init__(self) -> None:  # refused before anything is built
            pass

    settings = TrainSettings(name="leak", out_dir=tmp_path, steps=1)
    with pytest.raises(SplitViolation, match="blackswan"):
        Trainer(LeakyRecipe(), settings, {}, load_split()).fit()
    assert not any(tmp_path.iterdir())
