"""Typed schemas for the config (Hydra ConfigStore): a mistyped override fails at composition with a
clear message (e.g. ``method.window=abc`` → "Value 'abc' … could not be converted to Integer").
Registered on import (by :mod:`hypercon.config`).

The schemas give types only: every value lives in its yaml under ``conf/`` (``MISSING`` here), so each
default is written once."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING


@dataclass
class PathsSchema:
    output_root: str = MISSING
    cache_dir: str = MISSING
    weights_dir: Optional[str] = MISSING
    data_root: Optional[str] = MISSING


@dataclass
class TaskSchema:
    name: str = MISSING
    masks: str = MISSING  # none | rectangle | object | folder
    metrics: list[str] = MISSING  # offline metric set (default)
    paper_metrics: list[str] = MISSING  # the paper's columns (metrics=paper)


@dataclass
class MetricsSchema:
    names: list[str] = MISSING
    optional: list[str] = MISSING
    occlusion_rule: str = MISSING  # lai | ruder
    options: dict[str, Any] = MISSING
    flow: Any = MISSING


@dataclass
class HyperConSchema:
    _target_: str = MISSING
    name: str = MISSING
    num_inserted: int = MISSING  # i
    window: int = MISSING  # c = 2γ+1
    dilation: int = MISSING  # d
    pool: str = MISSING
    chunk_size: int = MISSING
    device: str = MISSING
    model: Any = MISSING
    interp: Any = MISSING
    flow: Any = MISSING


@dataclass
class RunSchema:
    paths: PathsSchema = field(default_factory=PathsSchema)
    task: TaskSchema = field(default_factory=TaskSchema)
    metrics: MetricsSchema = field(default_factory=MetricsSchema)
    method: Any = None
    dataset: Any = None
    model: Any = None
    flow: Any = None
    interp: Any = None
    seed: int = MISSING
    device: str = MISSING
    style: str = MISSING
    overwrite: bool = MISSING
    save_frames: bool = MISSING
    save_video: bool = MISSING
    progress: Optional[bool] = MISSING
    sweep_name: str = MISSING
    log_level: str = MISSING


cs = ConfigStore.instance()
cs.store(name="run_schema", node=RunSchema)
cs.store(group="paths", name="paths_schema", node=PathsSchema)
cs.store(group="task", name="task_schema", node=TaskSchema)
cs.store(group="metrics", name="metrics_schema", node=MetricsSchema)
cs.store(group="method", name="hypercon_schema", node=HyperConSchema)
