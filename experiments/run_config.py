"""Which config a run's results belong to: the result-determining part of the resolved config (its hash
decides "this video is done"), the refusal of a run folder that holds another config's results, the check
of every component option against its class signature (before any work), and an experiment's per-method
settings (``method_settings``) merged into ``method``."""

from __future__ import annotations

import copy
import re
from typing import Any

from omegaconf import DictConfig, OmegaConf, open_dict

from experiments.store import RunStore
from hypercon.declared_options import declared_options, locate
from hypercon.errors import SettingError, one_line
from hypercon.option_check import check_target_options, coerce_options, write_back


#: keys of the resolved config that do not change results (excluded from the resume hash)
NON_RESULT_KEYS = ("overwrite", "save_video", "save_frames", "save_inputs", "save_error_maps", "log_level", "paths",
                   "progress",
                   "sweep_name", "method_settings")


def result_config(cfg: DictConfig | dict[str, Any]) -> dict[str, Any]:
    """The part of the resolved config that determines results (hashed for resuming); ``cfg`` may be a
    resolved container too (a ``provenance.json``'s config)."""
    container = OmegaConf.to_container(cfg, resolve=True) if isinstance(cfg, DictConfig) else copy.deepcopy(cfg)
    for key in NON_RESULT_KEYS:
        container.pop(key, None)
    dataset = container.get("dataset") or {}
    for key in data_location_keys(dataset):  # where data lives, not what it is
        dataset.pop(key, None)
    return _same_device_kind(container)


#: option names that say where data lives (``root``, ``data_root``, ``masks_root``, ``cache_dir``, ``mask_dir``)
LOCATION_SUFFIXES = ("root", "_dir", "_path")


def data_location_keys(dataset: dict[str, Any]) -> list[str]:
    """The options of a resolved dataset node that say where its data lives, not what it is: the options its
    class declares (:mod:`hypercon.declared_options`) named ``root`` or ending in ``root``, ``_dir`` or
    ``_path``, and those it lists in ``location_options`` (ActivityNet's ``manifest``). A class that cannot
    be imported (an old run's config) falls back to the node's own keys and the name rule."""
    target = str(dataset.get("_target_"))
    try:
        names, extra = list(declared_options(target).options), tuple(getattr(locate(target), "location_options", ()))
    except ImportError:
        names, extra = list(dataset), ()
    return sorted({name for name in names if name.endswith(LOCATION_SUFFIXES)} | set(extra))


def _same_device_kind(node: Any) -> Any:
    """``cuda:1`` → ``cuda`` in every ``device`` entry: which GPU a job ran on does not change results."""
    if isinstance(node, dict):
        return {k: (re.sub(r"^cuda:\d+$", "cuda", v) if k == "device" and isinstance(v, str) else _same_device_kind(v))
                for k, v in node.items()}
    if isinstance(node, list):
        return [_same_device_kind(v) for v in node]
    return node


def _flat(tree: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(tree, dict):
        out: dict[str, Any] = {}
        for key, value in tree.items():
            out.update(_flat(value, f"{prefix}{key}."))
        return out or {prefix.rstrip("."): {}}
    return {prefix.rstrip("."): tree}


def config_differences(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """``["method.window: 3 -> 5", "model._target_: … -> …"]``: the keys whose values differ."""
    old_flat, new_flat = _flat(old), _flat(new)
    keys = [k for k in sorted(set(old_flat) | set(new_flat)) if old_flat.get(k) != new_flat.get(k)]
    # a group interpolated into the method (method.model: ${model}) differs twice: name it once
    keys = [k for k in keys if not (k.count(".") > 1 and k.partition(".")[2] in keys)]
    return [f"{k}: {old_flat.get(k, '<absent>')} -> {new_flat.get(k, '<absent>')}" for k in keys]


def check_run_dir(store: RunStore, cfg: DictConfig, config_hash_: str) -> None:
    """Refuse a run folder that holds another config's results (``overwrite=true`` replaces them):
    a :class:`SettingError` naming the folder and the differing keys."""
    if cfg.overwrite:
        return
    previous = store.previous_config()
    if previous is None:
        return
    old_hash, old_config = previous
    if old_hash == config_hash_:
        return
    diffs = config_differences(result_config(old_config), result_config(cfg)) if old_config else []
    shown = "; ".join(diffs[:4]) + (f"; … ({len(diffs)} keys)" if len(diffs) > 4 else "")
    raise SettingError(
        f"{store.root} holds the results of another config ({shown or f'config hash {old_hash}'}): "
        "use another folder (hydra.run.dir=… or other overrides), or overwrite=true to replace them")


def check_run_options(cfg: DictConfig) -> None:
    """Before any work: every option of every component is one its class declares, of the declared type,
    and so is every key of ``method_settings.<the method's name>`` (merged into the method later); values
    written in another form are converted in place (:mod:`hypercon.option_check`). Otherwise one
    :class:`SettingError` line naming the key, the value, the expected type and the class."""
    coerce_options(cfg)
    settings = (cfg.get("method_settings") or {}).get(str(cfg.method.name))
    if isinstance(settings, DictConfig):
        write_back(cfg, check_target_options(settings, declared_options(str(cfg.method._target_))))


def apply_method_settings(cfg: DictConfig) -> None:
    """Merge ``method_settings.<method name>`` (an experiment's per-method settings, e.g. Table 1's
    HyperCon i/c/d) into ``cfg.method``: one sweep over ``method=framewise,hypercon`` can then set options
    that only one of the methods has."""
    settings = cfg.get("method_settings") or {}
    name = str(cfg.method.name)
    if name not in settings or not settings[name]:
        return
    from omegaconf.errors import OmegaConfBaseException

    try:
        merged = OmegaConf.merge(cfg.method, settings[name])
    except OmegaConfBaseException as exc:
        raise SettingError(f"method_settings.{name}: {one_line(exc)} (keys of method={name}: "
                           f"{', '.join(k for k in cfg.method if k != '_target_')})") from exc
    with open_dict(cfg):
        cfg.method = merged
