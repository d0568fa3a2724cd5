"""Hydra is the registry of components: ``conf/<group>/<name>.yaml`` names a component, and code that
picks one by name (``python -m metrics --flow NAME``, the benchmarks, the runner) composes the root config
``conf/config.yaml`` with ``group=name`` and instantiates the node, so interpolations such as
``${device}`` and ``${paths.weights_dir}`` resolve as in ``python run.py``.

Importing this module registers what composition needs: the OmegaConf resolvers (``hc.dirname``) and
the typed schemas of the groups without a ``_target_`` (:mod:`hypercon.schemas`). The components' options
are checked against their class signatures once composed (:mod:`hypercon.option_check`).

    flow = instantiate_component(compose_component("flow", "dis_fine", values={"device": "cuda"}))
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from hypercon import schemas  # noqa: F401  (registers the ConfigStore entries)
from hypercon.option_check import coerce_options
from hypercon.provenance import REPO_ROOT

CONF_DIR = REPO_ROOT / "conf"


def _dirname(override_dirname: str | None) -> str:
    """A job's output folder name from its overrides: filesystem-safe, deterministic, 'default' if none."""
    text = (override_dirname or "").strip()
    if not text:
        return "default"
    safe = re.sub(r"[^A-Za-z0-9=,._+\-\[\]]", "_", text)
    if len(safe) <= 180:
        return safe
    digest = hashlib.sha256(text.encode()).hexdigest()[:12]
    return f"{safe[:160]}...{digest}"  # long override lists: a prefix to read, a hash to stay unique


if not OmegaConf.has_resolver("hc.dirname"):
    OmegaConf.register_new_resolver("hc.dirname", _dirname)


def available(group: str, config_dir: str | Path = CONF_DIR) -> list[str]:
    """The option names of a config group: the stems of ``conf/<group>/*.yaml``, sorted."""
    return sorted(p.stem for p in (Path(config_dir) / group).glob("*.yaml"))


def compose_config(overrides: Sequence[str] = (), values: Mapping[str, Any] | None = None,
                   config_dir: str | Path = CONF_DIR) -> DictConfig:
    """The root config composed with Hydra ``overrides`` (``["flow=raft_large", "method.window=7"]``),
    then ``values`` set by dotted key (``{"device": "cuda", "paths.weights_dir": path}``: Python values,
    no override quoting; None entries are set too). Then every component's options are checked against
    its class signature and converted to the declared types (:func:`hypercon.option_check.coerce_options`:
    a one-line :class:`hypercon.errors.SettingError` naming the key); the other keys are typed by the
    schemas at composition. Works inside a running Hydra app or an ``initialize_config_dir`` block (their
    state is restored)."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    running = GlobalHydra.instance().hydra if GlobalHydra.instance().is_initialized() else None
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(Path(config_dir).resolve()), version_base="1.3"):
            cfg = compose(config_name="config", overrides=list(overrides))
    finally:
        if running is not None:
            GlobalHydra.instance().clear()
            GlobalHydra.instance().initialize(running)
    for key, value in (values or {}).items():
        OmegaConf.update(cfg, key, value, merge=False)
    coerce_options(cfg)
    return cfg


def compose_component(group: str, name: str, overrides: Sequence[str] = (), values: Mapping[str, Any] | None = None,
                      config_dir: str | Path = CONF_DIR) -> DictConfig:
    """The ``group`` node of the root config composed with ``group=name`` (see :func:`compose_config`);
    it stays attached to the root, so its interpolations resolve. An unknown name raises a one-line
    ValueError listing the group's options."""
    names = available(group, config_dir)
    if name not in names:
        raise ValueError(f"unknown {group} {name!r}: choose one of {', '.join(names)} "
                         f"({Path(config_dir).name}/{group}/*.yaml)")
    return compose_config([f"{group}={name}", *overrides], values, config_dir)[group]


def _strip_labels(node: Any) -> Any:
    """Drop the ``name`` label of every ``_target_`` node (a config label, not a constructor argument)."""
    if isinstance(node, dict):
        return {k: _strip_labels(v) for k, v in node.items() if not (k == "name" and "_target_" in node)}
    if isinstance(node, list):
        return [_strip_labels(v) for v in node]
    return node


def instantiate_component(cfg: DictConfig, **kwargs: Any) -> Any:
    """Instantiate a config node (and its nested ``_target_`` nodes), ignoring their ``name`` labels.
    ``kwargs`` override or add constructor arguments (objects too, e.g. an already built ``model``). A
    value left ``???`` raises ``MissingMandatoryValue`` naming its key."""
    from hydra.utils import instantiate

    container = OmegaConf.to_container(cfg, resolve=True, throw_on_missing=True)
    return instantiate(_strip_labels(container), **kwargs)
