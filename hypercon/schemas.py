"""Typed schemas of the config groups without a ``_target_`` (Hydra ConfigStore): ``paths``, ``task``,
``metrics`` and the root's own keys (``seed``, ``device``, ``overwrite``, …). A mistyped override of one of
them fails at composition naming the key (``seed=zero`` → "Value 'zero' of type 'str' could not be
converted to Integer … full_key: seed"), and an unknown key is refused. Registered on import (by
:mod:`hypercon.config`), outside the selectable groups (see :data:`SCHEMAS`).

The components built from a ``_target_`` (``method``, ``model``, ``flow``, ``interp``, ``dataset``,
``perceptual``, ``metrics.flow``) have no schema here: their class signature declares each option's name
and type, and :mod:`hypercon.option_check` checks the composed config against it.

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
    input: str  # frames | luma | sr2x: the method's input (hypercon.tasks)
    target: str  # frames | annotation: what the metrics compare with
    keep_luminance: bool  # colorize: composite the input's lightness back (Lab)
    align_on: str  # HyperCon's alignment flow on: translated (paper) | input (vseg)
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
class RunSchema:
    paths: PathsSchema = MISSING
    task: TaskSchema = MISSING
    metrics: MetricsSchema = MISSING
    method: Any = None  # the components: checked against their class signatures (hypercon.option_check)
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
    save_error_maps: bool = MISSING  # per-pixel E_warp maps per video (outputs saved, not results)
    method_settings: dict[str, Any] = MISSING  # {method name: {option: value}} merged into method
    progress: Optional[bool] = MISSING
    sweep_name: str = MISSING
    log_level: str = MISSING


#: ConfigStore name → schema. The names sit at the top level of the ConfigStore, outside every config
#: group, so they are never offered as options (``--help``, ``task=…``); each ``conf/<group>/<name>.yaml``
#: puts its schema first in its defaults list (``- /task_schema@_here_``).
SCHEMAS: dict[str, type] = {
    "paths_default_schema": PathsSchema,
    "task_schema": TaskSchema,
    "metrics_schema": MetricsSchema,
}

cs = ConfigStore.instance()
cs.store(name="run_schema", node=RunSchema)
for _name, _schema in SCHEMAS.items():
    cs.store(name=_name, node=_schema)
