"""Typed schemas for the config (Hydra ConfigStore): a mistyped override fails at composition with a
clear message (e.g. ``method.window=abc`` → "Value 'abc' … could not be converted to Integer").
Registered on import (by :mod:`hypercon.config`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from hydra.core.config_store import ConfigStore


@dataclass
class PathsSchema:
    output_root: str = "outputs"
    cache_dir: str = "outputs/cache"
    weights_dir: Optional[str] = None
    data_root: Optional[str] = None


@dataclass
class TaskSchema:
    name: str = "style"
    masks: str = "none"  # none | rectangle | object | folder
    metrics: list[str] = field(default_factory=list)  # offline metric set (default)
    paper_metrics: list[str] = field(default_factory=list)  # the paper's columns (metrics=paper)


@dataclass
class MetricsSchema:
    names: list[str] = field(default_factory=list)
    optional: list[str] = field(default_factory=list)
    occlusion_rule: str = "lai"  # lai | ruder
    options: dict[str, Any] = field(default_factory=dict)
    flow: Any = None


@dataclass
class HyperConSchema:
    _target_: str = "hypercon.pipeline.HyperCon"
    name: str = "hypercon"
    num_inserted: int = 2  # i
    window: int = 5  # c = 2γ+1
    dilation: int = 1  # d
    pool: str = "mean"
    chunk_size: int = 16
    device: str = "cpu"
    model: Any = None
    interp: Any = None
    flow: Any = None


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
    seed: int = 0
    device: str = "cpu"
    style: str = "rain_princess"
    overwrite: bool = False
    save_frames: bool = True
    save_video: bool = True
    progress: Optional[bool] = None
    sweep_name: str = "sweep"
    log_level: str = "INFO"


cs = ConfigStore.instance()
cs.store(name="run_schema", node=RunSchema)
cs.store(group="paths", name="paths_schema", node=PathsSchema)
cs.store(group="task", name="task_schema", node=TaskSchema)
cs.store(group="metrics", name="metrics_schema", node=MetricsSchema)
cs.store(group="method", name="hypercon_schema", node=HyperConSchema)
