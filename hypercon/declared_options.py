"""The options a config-built component declares: the parameters of its ``_target_`` (a class's
``__init__`` or a function), with their evaluated annotations and defaults. The signature is the one place
an option's name and type are written; :mod:`hypercon.option_check` checks the composed config against it.

A class whose ``__init__`` takes ``**kwargs`` and passes them on (``super().__init__(**options)``, as
every dataset does to :class:`datasets.base.VideoDataset`) declares its bases' options too: the classes of
its MRO are read until one whose ``__init__`` has no ``**kwargs``. Only a target that forwards ``**kwargs``
all the way (to ``object``), or a function with ``**kwargs``, accepts any key (:attr:`Declared.open`).

    declared_options("hypercon.models.classical.KMeansPalette").parameters["num_colors"].annotation  # int
"""

from __future__ import annotations

import functools
import importlib
import inspect
import typing
from dataclasses import dataclass
from typing import Any, Callable

_SKIPPED = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)


@dataclass(frozen=True)
class Option:
    """One declared option: its evaluated annotation (``Any`` if none or not evaluable) and its default
    (``inspect.Parameter.empty`` if it has none)."""

    name: str
    annotation: Any
    default: Any


@dataclass(frozen=True)
class Declared:
    """The options of a ``_target_`` (``target``: its dotted path), in signature order (own first)."""

    target: str
    options: dict[str, Option]
    open: bool  # takes any keyword (a **kwargs that no declared signature ends)


def _annotations(fn: Callable[..., Any]) -> dict[str, Any]:
    """``fn``'s evaluated annotations; a name that cannot be evaluated (a ``TYPE_CHECKING`` import) is Any."""
    try:
        return typing.get_type_hints(fn)
    except Exception:  # noqa: BLE001  (one unresolvable name: evaluate the others one by one)
        hints: dict[str, Any] = {}
        namespace = getattr(fn, "__globals__", {})
        for name, text in getattr(fn, "__annotations__", {}).items():
            try:
                hints[name] = eval(text, namespace) if isinstance(text, str) else text  # noqa: S307
            except Exception:  # noqa: BLE001
                hints[name] = Any
        return hints


def _signature_options(fn: Callable[..., Any]) -> tuple[dict[str, Option], bool]:
    """The named parameters of ``fn`` (without ``self``) and whether it takes ``**kwargs``."""
    signature = inspect.signature(fn)
    hints = _annotations(fn)
    options = {name: Option(name, hints.get(name, Any), p.default)
               for name, p in signature.parameters.items() if p.kind not in _SKIPPED and name != "self"}
    return options, any(p.kind is inspect.Parameter.VAR_KEYWORD for p in signature.parameters.values())


def options_of(obj: Callable[..., Any], target: str) -> Declared:
    """The :class:`Declared` options of a class (its ``__init__``, following ``**kwargs`` up the MRO) or
    of a function."""
    if not inspect.isclass(obj):
        options, var_keyword = _signature_options(obj)
        return Declared(target, options, var_keyword)
    options: dict[str, Option] = {}
    for cls in obj.__mro__:
        init = cls.__dict__.get("__init__")
        if init is None:
            continue
        if cls is object:
            return Declared(target, options, True)
        own, var_keyword = _signature_options(init)
        for name, option in own.items():
            options.setdefault(name, option)
        if not var_keyword:
            break
    return Declared(target, options, False)


def locate(target: str) -> Any:
    """The object at a dotted path (``package.module.Class``), imported as Hydra's ``instantiate`` does
    (without building it). Raises ``ImportError`` naming the path if it does not exist; an import error
    inside an existing module (a missing dependency) propagates as it is."""
    parts = target.split(".")
    for split in range(len(parts) - 1, 0, -1):
        module_name = ".".join(parts[:split])
        try:
            obj = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name and module_name.startswith(exc.name):
                continue  # not a module: a shorter prefix may be
            raise
        try:
            return functools.reduce(getattr, parts[split:], obj)
        except AttributeError:
            break
    raise ImportError(f"_target_ {target}: no such class or function")


@functools.lru_cache(maxsize=None)
def declared_options(target: str) -> Declared:
    """The options of ``target`` (a dotted ``_target_`` path), resolved without instantiating it; raises
    ``ImportError`` if it does not exist (:func:`locate`)."""
    return options_of(locate(target), target)
