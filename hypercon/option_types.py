"""A config value checked against a constructor's type annotation, and converted as OmegaConf's typed
nodes convert it (``"7"`` → 7 for an ``int``, ``5`` → 5.0 for a ``float``, ``2016`` → ``"2016"`` for a
``str``, ``"true"`` → True for a ``bool``); used by :mod:`hypercon.option_check` on every option.

What an annotation accepts:

* ``int``, ``float``, ``bool``, ``str``: a scalar OmegaConf converts to it (``1.5`` is not an ``int``);
* ``X | None`` / ``Optional[X]``: None or an ``X``; a union: the first member that takes the value as it
  is, else the first that converts it;
* ``list[X]``, ``Sequence[X]``, ``tuple[X, Y]``, ``tuple[X, ...]``: a list (not a string) of ``X``;
* ``dict[K, V]`` / ``Mapping``: a mapping; ``Literal["a", "b"]``: one of the values;
* ``Any``, ``object``, and a name that cannot be evaluated (a ``TYPE_CHECKING`` import): anything;
* any other class (``ImageModel``, ``Callable[..., Any]``, ``Path``): a nested config (a mapping, built by
  its own ``_target_``); ``Path`` takes a string too.
"""

from __future__ import annotations

import collections.abc
import types
import typing
from pathlib import PurePath
from typing import Any

from omegaconf import BooleanNode, FloatNode, IntegerNode, StringNode
from omegaconf.errors import ValidationError

#: the scalar annotations and the OmegaConf node that converts a value to each
SCALAR_NODES: dict[type, type] = {bool: BooleanNode, int: IntegerNode, float: FloatNode, str: StringNode}

_SEQUENCES = (list, tuple, collections.abc.Sequence, collections.abc.MutableSequence)
_MAPPINGS = (dict, collections.abc.Mapping, collections.abc.MutableMapping)


class OptionTypeError(ValueError):
    """A value that an annotation does not accept (the message names the expected type)."""


def describe(annotation: Any) -> str:
    """The annotation as written in a signature: ``int``, ``int | None``, ``list[int] | tuple[int, int]``."""
    if annotation is type(None):
        return "None"
    if isinstance(annotation, type) and not typing.get_args(annotation):
        return annotation.__name__
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return " | ".join(describe(member) for member in typing.get_args(annotation))
    return str(annotation).replace("typing.", "").replace("collections.abc.", "")


def is_mapping(value: Any) -> bool:
    """A dict or a DictConfig."""
    return isinstance(value, collections.abc.Mapping)


def is_list(value: Any) -> bool:
    """A list, tuple or ListConfig (not a string)."""
    return isinstance(value, collections.abc.Sequence) and not isinstance(value, (str, bytes))


def same_form(a: Any, b: Any) -> bool:
    """Equal values of the same types, item by item (a ListConfig and a list of equal items are the same
    form; ``5`` and ``5.0``, or ``[832, 480]`` and ``(832, 480)``, are not)."""
    if is_mapping(a) or is_mapping(b):
        return is_mapping(a) and is_mapping(b) and a.keys() == b.keys() and all(same_form(a[k], b[k]) for k in a)
    if is_list(a) or is_list(b):
        return (is_list(a) and is_list(b) and isinstance(a, tuple) == isinstance(b, tuple) and len(a) == len(b)
                and all(same_form(x, y) for x, y in zip(a, b)))
    return type(a) is type(b) and a == b


def coerce(value: Any, annotation: Any) -> Any:
    """``value`` as ``annotation`` accepts it (converted as OmegaConf's typed nodes convert); raises
    :class:`OptionTypeError` naming the expected type. Nested configs (mappings) are returned as they are."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if annotation in (Any, object) or annotation is None:
        return value
    if origin in (typing.Union, types.UnionType):
        return _coerce_union(value, args, annotation)
    if annotation is type(None):
        if value is None:
            return None
        raise OptionTypeError(f"expected {describe(annotation)}")
    if value is None:
        raise OptionTypeError(f"expected {describe(annotation)}")
    if origin is typing.Literal:
        return _coerce_literal(value, args)
    if annotation in SCALAR_NODES:
        return _coerce_scalar(value, annotation)
    if origin in _SEQUENCES or annotation in _SEQUENCES:
        return _coerce_sequence(value, origin or annotation, args, annotation)
    if origin in _MAPPINGS or annotation in _MAPPINGS:
        if is_mapping(value):
            return value
        raise OptionTypeError(f"expected a mapping ({describe(annotation)})")
    if isinstance(annotation, type) and issubclass(annotation, PurePath) and isinstance(value, str):
        return value
    if is_mapping(value):
        return value  # a nested config, built by its own _target_
    raise OptionTypeError(f"expected a {describe(annotation)} config (a mapping with _target_)")


def _coerce_scalar(value: Any, annotation: type) -> Any:
    if is_mapping(value) or is_list(value):
        raise OptionTypeError(f"expected {annotation.__name__}")
    try:
        return SCALAR_NODES[annotation](value=value)._value()
    except ValidationError:
        raise OptionTypeError(f"expected {annotation.__name__}") from None


def _coerce_union(value: Any, members: tuple[Any, ...], annotation: Any) -> Any:
    """The first member that takes ``value`` unchanged, else the first that converts it."""
    converted: list[Any] = []
    for member in members:
        try:
            result = coerce(value, member)
        except OptionTypeError:
            continue
        if same_form(result, value):
            return result
        converted.append(result)
    if converted:
        return converted[0]
    raise OptionTypeError(f"expected {describe(annotation)}")


def _coerce_literal(value: Any, choices: tuple[Any, ...]) -> Any:
    for choice in choices:
        try:
            if coerce(value, type(choice)) == choice:
                return choice
        except OptionTypeError:
            continue
    raise OptionTypeError(f"expected one of {', '.join(map(str, choices))}")


def _coerce_sequence(value: Any, kind: Any, args: tuple[Any, ...], annotation: Any) -> list[Any]:
    if not is_list(value):
        raise OptionTypeError(f"expected a list ({describe(annotation)})")
    items = list(value)
    if kind is tuple and args and args[-1] is not Ellipsis:
        if len(items) != len(args):
            raise OptionTypeError(f"expected {len(args)} items ({describe(annotation)})")
        item_types = list(args)
    else:
        item_types = [args[0] if args else Any] * len(items)
    try:
        return [coerce(item, item_type) for item, item_type in zip(items, item_types)]
    except OptionTypeError:
        raise OptionTypeError(f"expected {describe(annotation)}") from None
