"""Typed schemas for the config (Hydra ConfigStore): a mistyped override fails at composition with a
clear message (e.g. ``method.window=abc`` → "Value 'abc' … could not be converted to Integer").
Registered on import (by :mod:`hypercon.config`).

The schemas give types only (fields without a value are ``MISSING`` to OmegaConf): every value lives in
its yaml under ``conf/``, so each default is written once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING


@dataclass
class PathsSchema:
    output_root: str
    cache_dir: str
    weights_dir: Optional[str]
    data_root: Optional[str]


@dataclass
class TaskSchema:
    name: str
    masks: str  # none | rectangle | object | folder
    metrics: list[str]  # offline metric set (default)
    paper_metrics: list[str]  # the paper's columns (metrics=paper)


@dataclass
class MetricsSchema:
    names: list[str]
    optional: list[str]
    occlusion_rule: str  # lai | ruder
    options: dict[str, Any]
    flow: Any


@dataclass
class HyperConSchema:
    _target_: str
    name: str
    num_inserted: int  # i
    window: int  # c = 2γ+1
    dilation: int  # d
    pool: str
    chunk_size: int
    device: str
    model: Any
    interp: Any
    flow: Any


@dataclass
class RunSchema:
    paths: PathsSchema = MISSING
    task: TaskSchema = MISSING
    metrics: MetricsSchema = MISSING
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
    save_inputs: Optional[bool] = MISSING  # null: only for generated data
    method_settings: dict[str, Any] = MISSING  # {method name: {option: value}} merged into method
    progress: Optional[bool] = MISSING
    sweep_name: str = MISSING
    log_level: str = MISSING


cs = ConfigStore.instance()
cs.store(name="run_schema", node=RunSchema)
cs.store(group="paths", name="paths_schema", node=PathsSchema)
cs.store(group="task", name="task_schema", node=TaskSchema)
cs.store(group="metrics", name="metrics_schema", node=MetricsSchema)
cs.store(group="method", name="hypercon_schema", node=HyperConSchema)
