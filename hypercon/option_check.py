"""The composed config checked against the signatures of its components, before any work: every node with
a ``_target_`` may only hold options its class declares (:mod:`hypercon.declared_options`), each of the
declared type (:mod:`hypercon.option_types`). A failure is one :class:`SettingError` line naming the full key,
the value, the expected type and the declaring class::

    method.window=abc: expected int (hypercon.pipeline.HyperCon.window)
    method.bogus=1: not an option of baselines.framewise.Framewise (options: model)

The class signature is thus the one place an option's name and type are written (the yaml under ``conf/``
holds its value); a new component needs no schema. Values written in another form are converted as the
typed schemas did (``dataset.fps=24`` → 24.0 for a ``float``): :func:`check_options` returns them,
:func:`coerce_options` writes them back, so the class and the config hash see the declared type.

Keys that are not options: Hydra's (``_target_``, ``_partial_``, …) and the ``name`` label (dropped before
instantiation, :func:`hypercon.config.instantiate_component`). The root's ``hydra`` node is not checked.
"""

from __future__ import annotations

from typing import Any

from omegaconf import DictConfig, ListConfig, OmegaConf, read_write

from hypercon.declared_options import Declared, declared_options
from hypercon.errors import SettingError
from hypercon.option_types import OptionTypeError, coerce, is_mapping, same_form

#: keys of a ``_target_`` node that are not constructor arguments
RESERVED_KEYS = frozenset({"_target_", "_partial_", "_recursive_", "_convert_", "_args_", "name"})


def show(value: Any) -> str:
    """A value as it is written in an override: ``abc``, ``null``, ``true``, ``[1, 2]``."""
    if isinstance(value, (DictConfig, ListConfig)):
        value = OmegaConf.to_container(value, resolve=False)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list):
        return "[" + ", ".join(show(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {show(v)}" for k, v in value.items()) + "}"
    return str(value)


def _full_key(node: DictConfig, key: str) -> str:
    return node._get_full_key(key)


def _raw(node: DictConfig, key: str) -> Any:
    """The value of ``node[key]`` as written (an interpolation unresolved)."""
    child = node._get_node(key)
    return child if isinstance(child, (DictConfig, ListConfig)) else child._value()


def _declared(node: DictConfig) -> Declared:
    target = str(node["_target_"])
    try:
        return declared_options(target)
    except ImportError as exc:
        raise SettingError(f"{_full_key(node, '_target_')}={target}: cannot be imported ({exc})") from exc


def check_target_options(node: DictConfig, declared: Declared) -> dict[str, Any]:
    """Check the keys of ``node`` against ``declared`` (the options of ``node``'s ``_target_``, or of the
    class a settings node is merged into); returns ``{full key: converted value}`` for the values written
    in another form. Nested nodes are checked too (:func:`check_options`)."""
    changes: dict[str, Any] = {}
    for key in node:
        key = str(key)
        if key in RESERVED_KEYS:
            continue
        option = declared.options.get(key)
        if option is None and not declared.open:
            options = ", ".join(declared.options) or "none"
            raise SettingError(f"{_full_key(node, key)}={show(_raw(node, key))}: not an option of "
                               f"{declared.target} (options: {options})")
        if OmegaConf.is_missing(node, key):
            continue
        value = node[key]
        if option is not None:
            changes.update(_check_value(node, key, value, option.annotation, declared))
        if not OmegaConf.is_interpolation(node, key):
            changes.update(_check_children(value))
    return changes


def _check_value(node: DictConfig, key: str, value: Any, annotation: Any, declared: Declared) -> dict[str, Any]:
    try:
        converted = coerce(value, annotation)
    except OptionTypeError as exc:
        raise SettingError(f"{_full_key(node, key)}={show(value)}: {exc} ({declared.target}.{key})") from None
    if is_mapping(converted) or OmegaConf.is_interpolation(node, key):
        return {}  # a nested config is checked on its own; an interpolation where it is defined
    plain = OmegaConf.to_container(value, resolve=True) if isinstance(value, ListConfig) else value
    return {} if same_form(converted, plain) else {_full_key(node, key): converted}


def _check_children(value: Any) -> dict[str, Any]:
    if isinstance(value, DictConfig):
        return check_options(value)
    if isinstance(value, ListConfig):
        changes: dict[str, Any] = {}
        for item in value:
            changes.update(_check_children(item))
        return changes
    return {}


def check_options(cfg: DictConfig) -> dict[str, Any]:
    """Check every ``_target_`` node of ``cfg`` (the composed config, or a node of it) against its class's
    signature, without building anything; raises a one-line :class:`SettingError` on the first key that is
    not an option or a value of the wrong type. Returns ``{full key: converted value}`` for the values
    written in another form (:func:`coerce_options` writes them back)."""
    if "_target_" in cfg and not OmegaConf.is_missing(cfg, "_target_"):
        return check_target_options(cfg, _declared(cfg))
    changes: dict[str, Any] = {}
    for key in cfg:
        if cfg._get_full_key(str(key)) == "hydra" or OmegaConf.is_missing(cfg, str(key)):
            continue
        if not OmegaConf.is_interpolation(cfg, str(key)):
            changes.update(_check_children(cfg._get_node(str(key))))
    return changes


def write_back(cfg: DictConfig, changes: dict[str, Any]) -> None:
    """Set each ``{full key: value}`` of ``changes`` in the root config of ``cfg`` (existing keys only)."""
    root = cfg._get_root()
    with read_write(root):
        for key, value in changes.items():
            OmegaConf.update(root, key, value, merge=False)


def coerce_options(cfg: DictConfig) -> None:
    """:func:`check_options`, then the converted values written back into ``cfg``."""
    write_back(cfg, check_options(cfg))
