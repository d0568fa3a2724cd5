"""The generic training loop every trained baseline uses, with exact resume.

A baseline implements a :class:`TrainRecipe` (what to build, how to draw a batch, one optimisation step);
:class:`Trainer` runs it for ``steps`` steps:

* ``<out_dir>/last.pt`` every ``checkpoint_every`` steps, on SIGINT/SIGTERM (the current step finishes
  first) and at the end of a ``max_minutes`` window; written atomically (see :mod:`.checkpoint`);
* exact resume: rerunning the same command restores the modules, optimisers, LR schedules, the torch /
  NumPy / Python RNGs and the sampler generator (the sampler's position), so the loss curve of a killed and
  resumed run equals the uninterrupted one bit for bit (same device and thread count);
* ``<out_dir>/losses.csv`` (``step, <losses>, lr, wall_s``), ``losses.png``, a tqdm bar on a terminal;
* when all steps are done, the trained checkpoint ``<out_dir>/<name>.pt`` and its sidecar ``<name>.json``.

LR schedulers are stepped by the trainer once per step (express epochs in steps).
"""

from __future__ import annotations

import logging
import os
import random
import signal
import sys
import threading
import time
from abc import ABC, abstractmethod
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from baselines.common.checkpoint import capture_rng, load_state, restore_rng, save_state
from baselines.common.losslog import LossLog, plot_log
from baselines.common.sidecar import write_trained
from baselines.common.split import Split

LOG = logging.getLogger(__name__)
# keys that may change between a run and its resume (they do not change what is computed)
RUNTIME_KEYS = frozenset({"max_minutes", "stop_after_steps", "progress", "checkpoint_every", "log_every",
                          "out_dir", "device", "weights_dir"})


@dataclass
class TrainParts:
    """What :meth:`TrainRecipe.build` returns: everything whose state a checkpoint holds."""

    modules: dict[str, nn.Module]
    optimizers: dict[str, torch.optim.Optimizer]
    schedulers: dict[str, torch.optim.lr_scheduler.LRScheduler] = field(default_factory=dict)


class TrainRecipe(ABC):
    """One baseline's training. Options come from ``conf/train/<name>.yaml``'s ``recipe`` node."""

    #: dataset name and root-independent options, recorded in the sidecar (``data``)
    data: dict[str, Any] = {}
    #: the sequence names :meth:`sample` draws from (sidecar ``trained_on``; checked against the split)
    trained_on: tuple[str, ...] = ()
    #: modules saved in the trained checkpoint (None: all of them)
    export: tuple[str, ...] | None = None

    @abstractmethod
    def build(self, device: torch.device) -> TrainParts:
        """Create modules (on ``device``), optimisers and LR schedulers; keep what :meth:`step` needs."""

    @abstractmethod
    def sample(self, generator: torch.Generator) -> Any:
        """Draw the next batch using only ``generator`` for randomness: the trainer seeds it and checkpoints its
        state, which is the sampler's position."""

    @abstractmethod
    def step(self, batch: Any) -> dict[str, float]:
        """One optimisation step on ``batch``; returns the losses by name (same names every step)."""

    def extra_state(self) -> dict[str, Any]:
        """Further state to checkpoint (e.g. a GAN image pool); tensors and plain values only."""
        return {}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        """Inverse of :meth:`extra_state`."""


@dataclass(frozen=True)
class TrainSettings:
    """The trainer's keys of ``conf/train/base.yaml``."""

    name: str
    out_dir: Path
    steps: int
    checkpoint_every: int = 100
    log_every: int = 1
    seed: int = 0
    max_minutes: float | None = None
    device: str = "cpu"
    threads: int | None = None
    progress: bool | None = None
    stop_after_steps: int | None = None

    @classmethod
    def from_config(cls, cfg: dict[str, Any]) -> "TrainSettings":
        keys = [k for k in cls.__dataclass_fields__ if k in cfg]
        return cls(**{k: (Path(cfg[k]) if k == "out_dir" else cfg[k]) for k in keys})


@dataclass(frozen=True)
class TrainResult:
    """``status``: ``done`` | ``time_limit`` | ``interrupted`` (by ``signal``); ``exit_code`` for the CLI."""

    status: str
    step: int
    checkpoint: Path
    trained: Path | None = None
    signal: int | None = None

    @property
    def exit_code(self) -> int:
        return 128 + self.signal if self.status == "interrupted" and self.signal else 0


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


class _StopFlag:
    """Set by SIGINT/SIGTERM; a second signal while stopping raises KeyboardInterrupt."""

    def __init__(self) -> None:
        self.signum: int | None = None

    def handler(self, signum: int, frame: Any) -> None:
        if self.signum is not None:
            raise KeyboardInterrupt
        self.signum = signum
        LOG.warning("%s received: finishing the current step, then saving a checkpoint",
                    signal.Signals(signum).name)


@contextmanager
def _stop_signals() -> Iterator[_StopFlag]:
    flag = _StopFlag()
    if threading.current_thread() is not threading.main_thread():
        yield flag  # handlers can only be installed from the main thread
        return
    previous = {s: signal.signal(s, flag.handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield flag
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


class Trainer:
    """Runs a :class:`TrainRecipe` (see the module docstring). ``config`` is the resolved config, recorded
    in checkpoints (a resume with different non-runtime keys is refused) and in the sidecar."""

    def __init__(self, recipe: TrainRecipe, settings: TrainSettings, config: dict[str, Any],
                 split: Split | None = None) -> None:
        self.recipe, self.settings, self.config, self.split = recipe, settings, config, split
        self.state_path = settings.out_dir / "last.pt"
        self.log = LossLog(settings.out_dir / "losses.csv")

    def _state(self, parts: TrainParts, sampler: torch.Generator, step: int, wall_s: float) -> dict[str, Any]:
        return {"step": step, "wall_s": wall_s, "config": self.config,
                "modules": {k: m.state_dict() for k, m in parts.modules.items()},
                "optimizers": {k: o.state_dict() for k, o in parts.optimizers.items()},
                "schedulers": {k: s.state_dict() for k, s in parts.schedulers.items()},
                "rng": capture_rng(sampler), "recipe": self.recipe.extra_state()}

    def _resume(self, parts: TrainParts, sampler: torch.Generator) -> tuple[int, float]:
        """Restore ``last.pt`` if present; returns ``(step, wall_s)`` so far."""
        if not self.state_path.is_file():
            return 0, 0.0
        state = load_state(self.state_path)
        changed = sorted(k for k in set(state["config"]) | set(self.config)
                         if k not in RUNTIME_KEYS and state["config"].get(k) != self.config.get(k))
        if changed:
            raise ValueError(f"{self.state_path} was written with a different config (keys {', '.join(changed)} "
                             f"differ): use another out_dir, or delete it to start over")
        for kind in ("modules", "optimizers", "schedulers"):
            for key, obj in getattr(parts, kind).items():
                obj.load_state_dict(state[kind][key])
        self.recipe.load_extra_state(state["recipe"])
        restore_rng(state["rng"], sampler)
        LOG.info("resuming %s from step %d (%s)", self.settings.name, state["step"], self.state_path)
        return int(state["step"]), float(state["wall_s"])

    def _save(self, parts: TrainParts, sampler: torch.Generator, step: int, wall_s: float) -> None:
        save_state(self.state_path, self._state(parts, sampler, step, wall_s))
        LOG.debug("checkpoint at step %d: %s", step, self.state_path)

    def _export(self, parts: TrainParts, wall_s: float) -> Path:
        s, recipe = self.settings, self.recipe
        names = recipe.export or tuple(parts.modules)
        path = s.out_dir / f"{s.name}.pt"
        write_trained(path, {k: parts.modules[k].state_dict() for k in names}, {
            "name": s.name, "recipe": f"{type(recipe).__module__}.{type(recipe).__qualname__}",
            "config": self.config, "data": dict(recipe.data), "trained_on": list(recipe.trained_on),
            "split": self.split.name if self.split else None, "steps": s.steps, "seed": s.seed,
            "wall_s": round(wall_s, 1)})
        LOG.info("trained checkpoint %s (+ sidecar %s)", path, path.with_suffix(".json").name)
        return path

    def fit(self) -> TrainResult:
        """Train (or resume) to ``steps``, or until a signal or the time window stops it."""
        if self.split is not None:
            self.split.check_trainable(str(self.recipe.data.get("dataset", "")), self.recipe.trained_on)
        threads = torch.get_num_threads()
        try:
            if self.settings.threads:
                torch.set_num_threads(int(self.settings.threads))
            return self._fit()
        finally:
            torch.set_num_threads(threads)

    def _fit(self) -> TrainResult:
        s, recipe = self.settings, self.recipe
        seed_everything(s.seed)
        parts = recipe.build(torch.device(s.device))
        sampler = torch.Generator().manual_seed(s.seed)
        start, wall_before = self._resume(parts, sampler)
        self.log.truncate(start)
        lr_group = next(iter(parts.optimizers.values())).param_groups[0] if parts.optimizers else {"lr": 0.0}
        show = sys.stderr.isatty() if s.progress is None else bool(s.progress)
        t0, step, status = time.monotonic(), start, "done"
        with _stop_signals() as stop, tqdm(total=s.steps, initial=start, disable=not show, desc=s.name) as bar:
            while step < s.steps:
                batch = recipe.sample(sampler)
                losses = recipe.step(batch)
                lr = float(lr_group["lr"])  # the LR this step used (first optimiser, first group)
                for scheduler in parts.schedulers.values():
                    scheduler.step()
                step += 1
                wall_s = wall_before + time.monotonic() - t0
                if step % s.log_every == 0 or step == s.steps:
                    self.log.append(step, losses, lr, wall_s)
                bar.update(1)
                bar.set_postfix({k: f"{v:.4g}" for k, v in losses.items()}, refresh=False)
                if s.stop_after_steps is not None and step == s.stop_after_steps:
                    os.kill(os.getpid(), signal.SIGTERM)  # testing: a kill between steps, through the handler
                if stop.signum is not None:
                    status = "interrupted"
                elif s.max_minutes is not None and time.monotonic() - t0 >= 60.0 * s.max_minutes:
                    status = "time_limit"
                if step % s.checkpoint_every == 0 or step == s.steps or status != "done":
                    self._save(parts, sampler, step, wall_s)
                if status != "done":
                    break
        wall_s = wall_before + time.monotonic() - t0
        if self.log.path.is_file():
            plot_log(self.log.path, self.log.path.with_suffix(".png"))
        if status == "done":
            return TrainResult("done", step, self.state_path, self._export(parts, wall_s))
        why = f"signal {signal.Signals(stop.signum).name}" if status == "interrupted" else \
            f"the {s.max_minutes}-minute window ended"
        LOG.warning("stopped at step %d/%d (%s); checkpoint %s: resume with the same command",
                    step, s.steps, why, self.state_path)
        return TrainResult(status, step, self.state_path, None, stop.signum)
