"""An option's default is written in the yaml (what runs) and, for Python callers, in the class signature:
where both write one, they agree. A variant (``flow/dis_fast``, ``perceptual/vgg19_imagenet``) extends its
base yaml and writes only what differs, so the rule applies to the yamls that name a ``_target_``."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import pytest
import yaml

from hypercon.declared_options import declared_options
from hypercon.option_check import RESERVED_KEYS
from hypercon.option_types import coerce

CONF = Path(__file__).resolve().parents[1] / "conf"
#: the groups built from a _target_
COMPONENT_GROUPS = ("method", "model", "flow", "interp", "dataset", "perceptual")


def base_yamls() -> list[Path]:
    """The component yamls that name their class (the others extend one of them)."""
    return [path for group in COMPONENT_GROUPS for path in sorted((CONF / group).glob("*.yaml"))
            if "_target_" in (yaml.safe_load(path.read_text()) or {})]


def is_literal(value: Any) -> bool:
    """A value written in the yaml itself: not an interpolation, not ``???``, not a nested config."""
    if isinstance(value, str):
        return "${" not in value and value != "???"
    if isinstance(value, dict):
        return not ({"_target_", "_partial_"} & set(value))
    if isinstance(value, list):
        return all(is_literal(v) for v in value)
    return True


def plain(value: Any) -> Any:
    """Tuples as lists, mappings as dicts: a yaml cannot write a tuple."""
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, dict) or hasattr(value, "items"):
        return {k: plain(v) for k, v in value.items()}
    return value


def written_twice() -> list[tuple[str, str, Any, Any, Any]]:
    """(yaml, key, yaml value, signature default, annotation) for every literal the yaml writes whose option
    also has a default in the signature."""
    rows = []
    for path in base_yamls():
        node = yaml.safe_load(path.read_text())
        options = declared_options(node["_target_"]).options
        for key, value in node.items():
            option = options.get(key)
            if key in RESERVED_KEYS or key == "defaults" or option is None or not is_literal(value):
                continue
            if option.default is not inspect.Parameter.empty:
                rows.append((f"{path.parent.name}/{path.name}", key, value, option.default, option.annotation))
    return rows


def test_every_default_written_in_a_yaml_and_a_signature_agrees():
    rows = written_twice()
    assert len(rows) >= 100  # the rule bites: most offline options carry both
    disagree = [f"{name}: {key}: yaml {value!r} != signature {default!r}"
                for name, key, value, default, annotation in rows
                if plain(coerce(value, annotation)) != plain(coerce(default, annotation))]
    assert not disagree, "defaults written twice that differ (fix one side, or remove it):\n" + "\n".join(disagree)


@pytest.mark.parametrize("value, default, agree", [
    ([832, 480], (832, 480), True), (5, 5.0, True), ({}, {}, True), ("vgg19", "vgg16", False), ({}, None, False),
])
def test_agreement_is_after_coercion_and_sees_a_real_difference(value, default, agree):
    annotation = {5: float, "vgg19": str}.get(value if not isinstance(value, (list, dict)) else None, Any)
    assert (plain(coerce(value, annotation)) == plain(coerce(default, annotation))) is agree
