"""A training recipe's options as data: a dataclass per baseline (``VconsOptions``, ``CycleGANTemporalOptions``)
whose fields are the ``recipe.*`` keys of ``conf/train/<name>.yaml`` that tune the training, built from those keys
by :func:`recipe_options`. The recipe's constructor then takes only what it wires (flow, perceptual trunk, data
root, sequences, folders) and ``**options``."""

from __future__ import annotations

import typing
from collections.abc import Mapping
from dataclasses import fields
from typing import Any, TypeVar

Options = TypeVar("Options")


def recipe_options(cls: type[Options], options: Mapping[str, Any], baseline: str) -> Options:
    """``cls(**options)`` with ``int`` / ``float`` fields converted from what the config gave (``lr: 2e-4`` may
    arrive as a string, ``batch`` as a float). An unknown key raises ValueError naming ``recipe.<key>``, the
    baseline and the known keys."""
    hints = typing.get_type_hints(cls)
    known = [f.name for f in fields(cls)]  # type: ignore[arg-type]
    unknown = sorted(set(options) - set(known))
    if unknown:
        raise ValueError(f"{baseline}: unknown option(s) {', '.join(f'recipe.{k}' for k in unknown)}; "
                         f"known: {', '.join(known)}")
    converted = {k: hints[k](v) if hints[k] in (int, float) and v is not None else v for k, v in options.items()}
    return cls(**converted)
